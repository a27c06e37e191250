"""Prometheus metrics shared by the services. Labels never hold personal data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "iub_messages_total", "Messages handled", ["service", "stream", "outcome"]
)
PROCESSING = Histogram(
    "iub_message_processing_seconds",
    "Time to handle one message",
    ["service", "stream"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEAD_LETTERS = Counter("iub_dead_letters_total", "Entries moved to a dead-letter stream", ["service", "stream"])
DECISIONS = Counter("iub_decisions_total", "Eligibility decisions by outcome", ["kommun", "outcome"])
INFORMATION = Counter("iub_information_total", "11 kap 6 § information deliveries", ["via", "status"])
PNR_DROPPED = Counter(
    "iub_intake_personnummer_dropped_total",
    "Personnummer dropped at intake because the insats is anonymised or advisory",
    ["kommun"],
)
PENDING = Gauge("iub_stream_pending", "Entries pending in a consumer group", ["stream", "group"])
LAG = Gauge("iub_stream_lag", "Entries not yet delivered to a consumer group", ["stream", "group"])


def observe_message(service: str, stream: str, outcome: str, seconds: float) -> None:
    """Count one handled message and its duration."""
    MESSAGES.labels(service=service, stream=stream, outcome=outcome).inc()
    PROCESSING.labels(service=service, stream=stream).observe(seconds)
