"""Inkwell's platform-agnostic core: events, routing, the illustration loop and contracts."""
