"""Style references (seed 004): a channel's picture to draw like, kept torch-free."""
