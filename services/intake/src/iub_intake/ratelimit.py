"""Rate limiting per client (the shared Redis limiter of iub_runtime)."""

from iub_runtime.ratelimit import RateLimiter, Verdict, limit_for

__all__ = ["RateLimiter", "Verdict", "limit_for"]
