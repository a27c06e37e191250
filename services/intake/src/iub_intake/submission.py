"""Putting one request on the stream: scope, personnummer, idempotency, admission, XADD (app and telephony)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import structlog

from iub_contracts.api import FieldProblem, RequestIn
from iub_intake import idempotency as idem
from iub_intake.access import check_kommun
from iub_intake.context import Intake
from iub_intake.domain.admission import Refusal, admit
from iub_intake.identity import InvalidPersonnummer, normalise_personnummer
from iub_intake.problems import ProblemError
from iub_intake.status import KeyTaken, accept_request
from iub_runtime import metrics, urlpolicy
from iub_runtime.auth import ClientConfig, Operation
from iub_runtime.topology import execute_acked

log = structlog.get_logger("iub.intake")


@dataclass(frozen=True)
class OnceKey:
    """What makes a retry the same submission: a scope (per client), a key and the body's digest."""

    scope: str
    key: str
    digest: str
    field: str = "Idempotency-Key"


@dataclass(frozen=True)
class Submitted:
    """The request id on the stream, and whether this call only repeated an earlier one."""

    request_id: uuid.UUID
    replayed: bool = False


def personnummer_of(raw: str | None, field: str = "facts.personnummer") -> str | None:
    """The 12-digit form, or a 422 that names the field and never the value."""
    if not raw:
        return None
    try:
        return normalise_personnummer(raw)
    except InvalidPersonnummer:
        raise ProblemError(422, errors=[FieldProblem(field=field, problem="ogiltigt personnummer")]) from None


def refusal_error(r: Refusal) -> ProblemError:
    """A domain refusal as a problem answer."""
    fields = [r.field, *r.more_fields]
    return ProblemError(r.status, r.title, [FieldProblem(field=f, problem=r.title) for f in fields], see=r.see,
                        information=r.information)


def _earlier(c: idem.Claim, once: OnceKey) -> Submitted | None:
    """What an already used key answers: the first request again, or a refusal."""
    if c.state == "conflict":
        raise ProblemError(422, "Nyckeln används redan för en annan begäran",
                           [FieldProblem(field=once.field, problem="återanvänd med annat innehåll")])
    if c.state == "in_flight":  # only a mark left by an earlier version, gone within a minute
        raise ProblemError(409, "En begäran med samma nyckel behandlas redan")
    if c.state == "replay":
        return Submitted(uuid.UUID(c.request_id), replayed=True)
    return None


async def claim(intake: Intake, once: OnceKey, request_id: uuid.UUID) -> Submitted | None:
    """Remember a once-key that writes nothing else (SET NX); the earlier answer when it was used."""
    ttl = int(intake.settings.idempotency_ttl_hours * 3600)
    c = await idem.remember(intake.rt.redis, once.scope, once.key, once.digest, str(request_id), ttl)
    return None if c.state == "new" else _earlier(c, once)


async def confirm_replicated(intake: Intake, key: str) -> None:
    """A replayed answer is given only once the first call's writes reached the replicas too.

    The first call may have been told 503 because WAIT timed out while its writes stayed on the
    primary; a write to the same slot (the key's TTL renewed) followed by WAIT covers them, since
    replication keeps order.
    """
    replicas = intake.settings.replicas_to_ack()
    if replicas <= 0:
        return
    await execute_acked(intake.rt.redis, [("EXPIRE", key, int(intake.settings.idempotency_ttl_hours * 3600))],
                        [key], replicas, intake.settings.replicas_ack_timeout_ms)


async def check_callback_addresses(intake: Intake, body: RequestIn, prefixes: list[str] | None) -> None:
    """422 unless every address the callback host resolves to may be reached (no SSRF)."""
    d = body.delivery
    if d.kind != "app_callback" or not d.callback_url:
        return
    try:
        await urlpolicy.check_resolved(d.callback_url, prefixes, intake.allowed_networks, intake.resolver)
    except urlpolicy.UrlRefused as exc:  # fixed texts, never the URL
        raise ProblemError(422, str(exc), [FieldProblem(field="delivery.callback_url", problem=str(exc))]) from None


async def submit(intake: Intake, body: RequestIn, client: ClientConfig, op: Operation,
                 once: OnceKey | None) -> Submitted:
    """Validate, admit and XADD one request; only an acknowledged XADD makes it Submitted.

    With a once-key nothing is claimed ahead: the key is checked, and then set in the same Lua
    script as the XADD (a crash in between leaves nothing that could block a retry).
    """
    check_kommun(client, op, body.kommun)
    pnr = personnummer_of(body.facts.personnummer)
    request_id = uuid.uuid4()
    shard = intake.rt.shard(body.kommun)
    if once is not None and (earlier := _earlier(
            await idem.lookup(intake.rt.redis, once.scope, once.key, once.digest, shard), once)) is not None:
        await confirm_replicated(intake, idem.redis_key(once.scope, once.key, shard))
        return earlier
    redis = intake.rt.redis
    ttl = int(intake.settings.idempotency_ttl_hours * 3600)
    # development mode without clients (explicit) has no prefix list; every configured client has one
    prefixes = None if intake.registry is None else client.callback_url_prefixes
    result = admit(intake.catalog, body, pnr, request_id=request_id, now=intake.rt.clock(),
                   callback_prefixes=prefixes, delivery_handle=secrets.token_urlsafe(24))
    if isinstance(result, Refusal):
        raise refusal_error(result)
    await check_callback_addresses(intake, body, prefixes)
    done = None if once is None else (*idem.done_mark(once.scope, once.key, once.digest, str(request_id), shard),
                                      ttl)
    try:
        # 202 only once IUB_MIN_REPLICAS_ACK replicas hold it: else ReplicasNotAcked → 503 with Retry-After
        await accept_request(redis, result.request, retention_s=intake.settings.stream_retention_hours * 3600,
                             also_set=done, target=result.delivery_target, shard=shard,
                             replicas=intake.settings.replicas_to_ack(),
                             ack_timeout_ms=intake.settings.replicas_ack_timeout_ms)
    except KeyTaken as taken:  # a concurrent call with the same key won the race
        assert once is not None
        earlier = _earlier(idem.interpret(taken.value, once.digest), once)
        assert earlier is not None
        return earlier
    if result.personnummer_dropped:
        metrics.PNR_DROPPED.labels(kommun=body.kommun).inc()
    log.info("request_accepted", request_id=str(request_id), kommun=body.kommun, insats_id=body.insats_id,
             channel=body.channel.value, client=client.id)
    return Submitted(request_id)
