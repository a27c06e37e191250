"""IUB audit service."""
