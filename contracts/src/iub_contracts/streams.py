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


# ---------------------------------------------------------------------------------------------
# Sharding (Redis Cluster). With ``IUB_STREAM_SHARDS=kommun`` every stream exists once per kommun
# and carries the kommun as a hash tag: ``iub.{sala}.intake.requested.v1``. Every key a Lua script
# or MULTI touches together with a stream (dedupe, status row, idempotency, delivery target, retry
# hash, dead letters) carries the same tag, so each unit of atomic work lives in one cluster slot.
# With the default shared layout (shard None) the names above are used unchanged.
# A new stream: declare its base name above (``iub.<producer>.<event>.v<n>``) and always name it
# through ``named(base, shard)``; keys written beside it through ``keyed(key, shard)``.


def named(base: str, shard: str | None) -> str:
    """The stream ``base`` of one shard: ``iub.intake.requested.v1`` + sala → ``iub.{sala}.intake.requested.v1``."""
    if not shard:
        return base
    if "{" in shard or "}" in shard:
        raise ValueError("a shard name carries no braces")
    head, _, rest = base.partition(".")
    return f"{head}.{{{shard}}}.{rest}"


def keyed(key: str, shard: str | None) -> str:
    """A key in the same cluster slot as the shard's streams: ``iub:once:x`` → ``iub:{sala}:once:x``."""
    if not shard:
        return key
    head, _, rest = key.partition(":")
    return f"{head}:{{{shard}}}:{rest}"


def shard_of(stream: str) -> str | None:
    """The shard (hash tag) a stream or key carries, None for the shared layout."""
    start = stream.find("{")
    end = stream.find("}", start + 1)
    return stream[start + 1:end] if start >= 0 and end > start + 1 else None


def base_of(stream: str) -> str:
    """The base name of a stream: ``iub.{sala}.intake.requested.v1`` → ``iub.intake.requested.v1``."""
    shard = shard_of(stream)
    return stream.replace(f".{{{shard}}}", "", 1) if shard else stream


def all_named(bases: tuple[str, ...] | list[str], shards: list[str | None] | tuple[str | None, ...]) -> list[str]:
    """Every stream of the given bases over the given shards."""
    return [named(b, s) for s in shards for b in bases]


def pattern_note(base: str) -> str:
    """How a stream is named when sharded, for the AsyncAPI descriptions."""
    return (f" With IUB_STREAM_SHARDS=kommun (Redis Cluster) one stream per kommun: {named(base, 'kommun')}, "
            "e.g. " + named(base, "sala") + "; every key written with it carries the same {kommun} hash tag.")
