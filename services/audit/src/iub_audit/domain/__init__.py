"""Pure domain logic of the audit service: no I/O, no clock, no settings."""
