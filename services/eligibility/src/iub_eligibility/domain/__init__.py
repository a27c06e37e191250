"""Pure domain logic of the eligibility service: no I/O, no clock, no settings."""
