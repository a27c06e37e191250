"""Pure domain logic of the notify service: no I/O, no clock, no settings."""
