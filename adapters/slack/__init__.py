"""Slack: a slack-bolt AsyncApp (HTTP or Socket Mode) around the core."""
