"""Profile the per-message hot path of the four services, without Redis or the network.

For N requests: intake's admission, eligibility's decision, the contract hops (JSON out and
back, as on a stream), audit's record with its canonical JSON and hash, notify's text and the
proof event. Prints pyinstrument's tree and the time per request per step.

    uv run python bench/profile_hot_path.py [--n 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
from collections import defaultdict
from pathlib import Path

from pyinstrument import Profiler

from iub_audit.domain.chain import Header, canonical_json, chain_hash, sha256_hex
from iub_audit.domain.documenting import document_decision
from iub_audit.domain.linkage import LinkKeys
from iub_contracts.api import FactsIn, RequestIn
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.messages import DecisionMade, RequestReceived
from iub_eligibility.domain.request import evaluate_request
from iub_intake.domain.admission import admit
from iub_notify.domain.events import information_given
from iub_notify.domain.information import information_context
from iub_notify.texts import Templates

ROOT = Path(__file__).resolve().parents[1]
BODIES = [
    ("ostersund", "akutboendet", {"personnummer": "198112189876", "folkbokford_i_kommunen": True}),
    ("jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta", {"stated_age": 34}),
    ("mellerud", "radgivningssamtal", {"bosatt_eller_vistas_i_kommunen": True}),
    ("sala", "skuldradgivning-och-skuldsanering", {"personnummer": "198112189876", "folkbokford_i_kommunen": True}),
]


def link(body: dict, kommun: str, seq: int) -> str:
    """What audit computes per record: canonical JSON, its digest, the chain link."""
    return chain_hash("0" * 64, kommun, seq, Header.of(body), sha256_hex(canonical_json(body)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    catalog = load_catalog(ROOT / "catalog")
    templates = Templates()
    now = dt.datetime(2025, 9, 5, 10, 0, tzinfo=dt.UTC)
    spent: dict[str, float] = defaultdict(float)

    def step(name, fn, *a, **kw):
        t = time.perf_counter()
        out = fn(*a, **kw)
        spent[name] += time.perf_counter() - t
        return out

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(args.n):
        kommun, insats, facts = BODIES[i % len(BODIES)]
        req_in = RequestIn(kommun=kommun, insats_id=insats, facts=FactsIn(**facts))
        admitted = step("intake: admit + minimise", admit, catalog, req_in, facts.get("personnummer"),
                        request_id=uuid.uuid4(), now=now)
        req = step("stream hop: RequestReceived", RequestReceived.model_validate_json,
                   admitted.request.model_dump_json())
        made = step("eligibility: decide", evaluate_request, catalog, req, now)
        made = step("stream hop: DecisionMade", DecisionMade.model_validate_json, made.model_dump_json())
        documented = step("audit: record", document_decision, catalog, made, LinkKeys(b"bench-link-key-" + b"b" * 32))
        body = documented.record.body

        step("audit: canonical JSON + hash", link, body, kommun, i)
        info = step("notify: render text", lambda r: templates.render(information_context(r, catalog, {}), r.language),
                    made)
        level = made.decision.documentation_level if made.decision else None
        step("notify: proof event", information_given, made, level, info, True, 1, now)
    profiler.stop()
    total = sum(spent.values())
    print(f"{args.n} requests, {total / args.n * 1e6:.0f} µs per request in the pure hot path")
    for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:32s} {s / args.n * 1e6:8.1f} µs  ({s / total:5.1%})")
    print(profiler.output_text(unicode=True, color=False, show_all=False)[:6000])


if __name__ == "__main__":
    main()
