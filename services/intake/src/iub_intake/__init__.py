"""IUB intake service."""
