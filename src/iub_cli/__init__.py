"""The iub command line."""
