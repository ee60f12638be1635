"""Inkwell's composition root: configuration, wiring and the command line."""
