"""The counter-test of issue 12 point 3: are requests told 202 lost in a failover without WAIT?

Runs the failover scenario of tests/e2e/test_failover.py several times per topology with
``IUB_MIN_REPLICAS_ACK=0`` (202 as soon as the primary has the write) and, for comparison, with
``IUB_MIN_REPLICAS_ACK=1`` (WAIT). Each kill comes in two flavours: a plain SIGKILL of the primary
(replication on loopback is sub-millisecond, so only the last writes are at risk) and a SIGKILL
after the replica lagged ``--lag`` seconds (SIGSTOP, as a slow link or a busy replica would): what
the primary acknowledged in that window exists nowhere else when it dies.

    .venv/bin/python bench/failover_without_wait.py --runs 3 --requests 600 --lag 1.0

Prints one line per run and a table (sent, 202, lost, duplicated, 503s told, time to recover).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("IUB_AUDIT_CHAIN_KEY", "bench-chain-key-" + "c" * 32)
os.environ.setdefault("IUB_AUDIT_LINK_KEY", "bench-link-key-" + "l" * 32)

from tests.e2e.failover import run_failover  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="kills per topology and setting")
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--rate", type=float, default=60.0)
    ap.add_argument("--lag", type=float, default=1.0, help="seconds the replica lags before the kill (0: none)")
    ap.add_argument("--modes", default="cluster,sentinel")
    ap.add_argument("--acks", default="0,1", help="IUB_MIN_REPLICAS_ACK values to compare")
    args = ap.parse_args()
    rows = []
    for mode in args.modes.split(","):
        for ack in (int(a) for a in args.acks.split(",")):
            for run in range(args.runs):
                out = run_failover(mode, n=args.requests, rate=args.rate, min_replicas_ack=ack, settle_s=180,
                                   lag_s=args.lag)
                print(f"run {run + 1}: {out.line()}", flush=True)
                rows.append(out)
    print("\n| topology | WAIT | sent | 202 | lost (request entry gone) | duplicated | 503s told | promoted after "
          "| recovered after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for o in rows:
        print(f"| {o.mode} | {o.min_replicas_ack} | {o.sent} | {len(o.accepted)} | {len(o.lost)} ({o.lost_requests}) | "
              f"{len(o.duplicated)} | {o.told_503} | {o.promoted_s:.1f} s | {o.recover_s:.1f} s |")


if __name__ == "__main__":
    main()
