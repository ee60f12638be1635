"""Seed 001: pictures composed from a background and separately drawn foreground elements."""
