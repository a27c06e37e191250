"""Stream names (versioned) and consumer groups. Change a contract incompatibly → new version."""

from typing import Final

# producer: intake · consumers: eligibility
REQUESTS: Final = "iub.intake.requested.v1"
# producer: eligibility · consumers: audit, intake (request status)
DECISIONS: Final = "iub.eligibility.decided.v1"
# producer: audit · consumers: notify (information goes out after the contact is documented)
RECORDED: Final = "iub.audit.recorded.v1"
# producer: notify · consumers: audit (proof of the 11 kap 6 § duty), intake (request status)
INFORMATION: Final = "iub.notify.information-given.v1"

ALL_STREAMS: Final = (REQUESTS, DECISIONS, RECORDED, INFORMATION)

# consumer groups, one per service
GROUP_ELIGIBILITY: Final = "eligibility"
GROUP_AUDIT: Final = "audit"
GROUP_NOTIFY: Final = "notify"
GROUP_INTAKE: Final = "intake"

# which groups read which stream (groups are created at start, XGROUP CREATE … 0 MKSTREAM)
CONSUMERS: Final = {
    REQUESTS: (GROUP_ELIGIBILITY,),
    DECISIONS: (GROUP_AUDIT, GROUP_INTAKE),
    RECORDED: (GROUP_NOTIFY,),
    INFORMATION: (GROUP_AUDIT, GROUP_INTAKE),
}


def dead_letter_stream(stream: str) -> str:
    """The per-stream dead-letter stream: ``<stream>.dlq``."""
    return f"{stream}.dlq"


ALL_DEAD_LETTER_STREAMS: Final = tuple(dead_letter_stream(s) for s in ALL_STREAMS)

# Redis key (not a stream) where audit publishes the information-coverage summary for the dashboard:
# counts per kommun and channel over a recent window, never a request id or personal data
COVERAGE_SUMMARY_KEY = "iub:audit:coverage:v1"
