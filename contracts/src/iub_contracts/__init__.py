"""Shared contracts of the IUB intake system: every message on a stream, and the catalogue."""
