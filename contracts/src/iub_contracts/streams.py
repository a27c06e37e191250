"""Stream names (versioned) and consumer groups. Change a contract incompatibly → new version."""

from typing import Final

# producer: intake · consumers: eligibility
REQUESTS: Final = "iub.intake.requested.v1"
# producer: eligibility · consumers: audit (documents it), notify (informs from it: 11 kap 6 § does
# not wait on documentation), intake (request status)
DECISIONS: Final = "iub.eligibility.decided.v1"
# retired: audit used to hand each documented decision on to notify here. Informing no longer
# waits on documenting, so nothing publishes or reads it; it is only trimmed until it is empty.
RECORDED: Final = "iub.audit.recorded.v1"
# producer: notify · consumers: audit (proof of the 11 kap 6 § duty, after its decision), intake (status)
INFORMATION: Final = "iub.notify.information-given.v1"

# producer: audit (a provider's villkor and consent facts, POST /v1/provider/requests/{case}/facts)
# · consumers: eligibility (decides again)
PROVIDER_FACTS: Final = "iub.provider.facts.v1"
# producer: eligibility (a revision of a decision after a provider's facts) · consumers: audit
# (documents the revision, keeps the earlier), notify (informs again when the outcome changed)
REVISIONS: Final = "iub.eligibility.revised.v1"

ALL_STREAMS: Final = (REQUESTS, DECISIONS, INFORMATION, PROVIDER_FACTS, REVISIONS)
RETIRED_STREAMS: Final = (RECORDED,)

# consumer groups, one per service
GROUP_ELIGIBILITY: Final = "eligibility"
GROUP_AUDIT: Final = "audit"
GROUP_NOTIFY: Final = "notify"
GROUP_INTAKE: Final = "intake"

# which groups read which stream (groups are created at start, XGROUP CREATE … 0 MKSTREAM)
CONSUMERS: Final = {
    REQUESTS: (GROUP_ELIGIBILITY,),
    DECISIONS: (GROUP_AUDIT, GROUP_NOTIFY, GROUP_INTAKE),
    INFORMATION: (GROUP_AUDIT, GROUP_INTAKE),
    PROVIDER_FACTS: (GROUP_ELIGIBILITY,),
    REVISIONS: (GROUP_AUDIT, GROUP_NOTIFY),
}


def dead_letter_stream(stream: str) -> str:
    """The per-stream dead-letter stream: ``<stream>.dlq``."""
    return f"{stream}.dlq"


# the retired stream's dead letters stay visible (and trimmed) until they are gone
ALL_DEAD_LETTER_STREAMS: Final = tuple(dead_letter_stream(s) for s in (*ALL_STREAMS, *RETIRED_STREAMS))

# Redis key (not a stream) where audit publishes the information-coverage summary for the dashboard:
# counts per kommun and channel over a recent window, never a request id or personal data
COVERAGE_SUMMARY_KEY = "iub:audit:coverage:v1"
