"""Seed 002: writers' words about picture quality turned into training signal."""
