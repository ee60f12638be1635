"""Platform adapters: each translates platform events to core events and actions back."""
