"""IUB notify service."""
