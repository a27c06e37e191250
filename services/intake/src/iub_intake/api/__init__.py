"""HTTP routes of intake: thin adapters over the domain modules."""
