"""Edits by reply: reading the request, drawing the new version, undo and redo."""
