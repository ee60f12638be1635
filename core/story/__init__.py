"""The story loop: paragraphs in, consistent illustrations out."""
