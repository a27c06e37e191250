"""Run-time pieces shared by the IUB services."""
