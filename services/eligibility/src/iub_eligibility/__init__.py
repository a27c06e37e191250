"""IUB eligibility service."""
