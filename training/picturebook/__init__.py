"""Training the picture-book world's models: autoencoder, text encoder + UNet, scoring CLIP."""
