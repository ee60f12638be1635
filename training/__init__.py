"""Offline training of the engine's models: screening heads, style branch, restorer, scorer."""
