"""Pure domain logic of the intake service: no I/O, no clock, no settings."""
