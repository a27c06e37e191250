"""Exported checkpoints: signed chain heads appended to a file operators keep append-only.

One JSON object per line (the heads of every chain at one moment). The audit service appends
a line every ``checkpoint_interval_s``; `iub audit verify` reads the file by default when
IUB_AUDIT_CHECKPOINT_PATH is set. A truncated chain whose head was replaced by an old signed
head is caught here: the export remembers a later head.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import structlog

from iub_audit.domain.chain import CheckpointHead
from iub_audit.store import AuditStore

log = structlog.get_logger("iub.audit")


def append_checkpoint(store: AuditStore, path: Path) -> int:
    """Append the current heads as one line (O_APPEND, fsynced); returns the number of heads."""
    heads = store.checkpoint()
    line = json.dumps({"heads": heads}, sort_keys=True, separators=(",", ":")) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(heads)


def read_checkpoints(path: Path) -> list[CheckpointHead]:
    """Every head in a checkpoint file, oldest first: JSON lines, or one `iub audit checkpoint` document."""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        return []
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [CheckpointHead.of(h) for doc in docs for h in doc["heads"]]


async def export_loop(store: AuditStore, path: Path, interval_s: float) -> None:
    """Append a checkpoint every interval until cancelled (a failed write is logged and retried next time)."""
    while True:
        try:
            n = await asyncio.to_thread(append_checkpoint, store, path)
            log.info("audit_checkpoint_exported", heads=n)
        except (OSError, ValueError) as exc:
            log.error("audit_checkpoint_failed", error_type=type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the loop
            log.error("audit_checkpoint_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval_s)
