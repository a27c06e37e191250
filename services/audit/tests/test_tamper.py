"""The tamper cases of the attack on the chain, each caught, on SQLite and PostgreSQL.

The attacker has full access to the database and knows the hash algorithm (they recompute
SHA-256 links, content digests and heads), but not the chain key, which lives outside the
database. Verification is what `iub audit verify` does: the chain with its MACs and gallring
marks, plus the signed checkpoints exported before the attack (the file IUB_AUDIT_CHECKPOINT_PATH).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from audit_support import FIGURES, INDIVIDUAL, NOW, SIGNER, write
from sqlalchemy import text
from typer.testing import CliRunner

from iub_audit.checkpoints import append_checkpoint, read_checkpoints
from iub_audit.domain.chain import Header, chain_hash, latest_checkpoints, sha256_hex
from iub_audit.domain.retention import cutoffs, expired
from iub_audit.store import AuditStore
from iub_cli.audit_cmd import purge_allowed_by
from iub_cli.main import app

RETENTION = {"individual": 3650, "anonymised": 1825, "advisory": 1825}
TODAY = NOW.date()
K = "ostersund"


def _rows(conn) -> list:
    return conn.execute(text("SELECT * FROM audit_records WHERE kommun=:k ORDER BY seq"), {"k": K}).all()


def _rechain(conn, from_seq: int = 1) -> None:
    """What an attacker without the key can do: recompute every hash from ``from_seq`` and the head."""
    head = conn.execute(text("SELECT * FROM audit_chain_heads WHERE kommun=:k"), {"k": K}).first()
    prev = head.base_hash
    last = None
    for r in _rows(conn):
        if r.seq >= from_seq:
            content = sha256_hex(r.body) if r.purged_at is None else r.content_sha256
            h = chain_hash(prev, K, r.seq, Header(r.request_id, r.step, r.level, r.insats_id,
                                                  dt.date.fromisoformat(str(r.day))), content)
            conn.execute(text("UPDATE audit_records SET prev_hash=:p, hash=:h, content_sha256=:c WHERE id=:id"),
                         {"p": prev, "h": h, "c": content, "id": r.id})
            prev = h
        else:
            prev = r.hash
        last = r.seq
    conn.execute(text("UPDATE audit_chain_heads SET seq=:s, hash=:h WHERE kommun=:k"),
                 {"s": last or head.base_seq, "h": prev, "k": K})


def _sql(*statements):
    def attack(conn, _old_head):
        for s in statements:
            conn.execute(text(s), {"k": K})
    return attack


def _then_rechain(attack, from_seq: int = 1):
    def both(conn, old_head):
        attack(conn, old_head)
        _rechain(conn, from_seq)
    return both


def _edit_body(conn, _):
    conn.execute(text("UPDATE audit_records SET body = replace(body, 'akutboendet', 'annat') "
                      "WHERE kommun=:k AND seq=3"), {"k": K})


def _replay_old_head(conn, old_head):
    conn.execute(text("DELETE FROM audit_records WHERE kommun=:k AND seq > :s"), {"k": K, "s": old_head.seq})
    conn.execute(text("UPDATE audit_chain_heads SET seq=:s, hash=:h, mac=:m WHERE kommun=:k"),
                 {"s": old_head.seq, "h": old_head.hash, "m": old_head.mac, "k": K})


def _forged_append(conn, _):
    last = _rows(conn)[-1]
    body = json.loads(last.body)
    body["request_id"] = "00000000-0000-4000-8000-000000000001"
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    content = sha256_hex(canonical)
    h = chain_hash(last.hash, K, last.seq + 1, Header(body["request_id"], last.step, last.level, last.insats_id,
                                                      dt.date.fromisoformat(str(last.day))), content)
    conn.execute(text(
        "INSERT INTO audit_records (kommun, seq, request_id, step, level, insats_id, day, personnummer, body, "
        "prev_hash, hash, created_at, hash_version, content_sha256) VALUES (:k, :seq, :rid, :step, :level, "
        ":insats, :day, :pnr, :body, :prev, :h, :created, 2, :c)"),
        {"k": K, "seq": last.seq + 1, "rid": body["request_id"], "step": last.step, "level": last.level,
         "insats": last.insats_id, "day": last.day, "pnr": last.personnummer, "body": canonical, "prev": last.hash,
         "h": h, "created": last.created_at, "c": content})
    conn.execute(text("UPDATE audit_chain_heads SET seq=:s, hash=:h WHERE kommun=:k"),
                 {"s": last.seq + 1, "h": h, "k": K})


def _duplicate(conn, _):
    conn.execute(text(
        "INSERT INTO audit_records (kommun, seq, request_id, step, level, insats_id, day, personnummer, body, "
        "prev_hash, hash, created_at, hash_version, content_sha256, mac) SELECT kommun, 7, "
        "'00000000-0000-4000-8000-000000000002', step, level, insats_id, day, personnummer, body, prev_hash, "
        "hash, created_at, hash_version, content_sha256, mac FROM audit_records WHERE kommun=:k AND seq=6"),
        {"k": K})
    _rechain(conn, 7)


# (name, attack, needs the exported checkpoint)
CASES = [
    ("delete at the head (last record)", _then_rechain(_sql("DELETE FROM audit_records WHERE kommun=:k AND seq=6")),
     False),
    ("delete in the middle", _sql("DELETE FROM audit_records WHERE kommun=:k AND seq=3"), False),
    ("delete at the start", _sql("DELETE FROM audit_records WHERE kommun=:k AND seq=1"), False),
    ("delete the first records and move base_seq/base_hash", _sql(
        "UPDATE audit_chain_heads SET base_seq=2, base_hash=(SELECT hash FROM audit_records WHERE kommun=:k "
        "AND seq=2) WHERE kommun=:k", "DELETE FROM audit_records WHERE kommun=:k AND seq<=2"), False),
    ("body edited, hashes and head recomputed", _then_rechain(_edit_body, 3), False),
    ("hash edited", _sql("UPDATE audit_records SET hash='" + "f" * 64 + "' WHERE kommun=:k AND seq=4"), False),
    ("prev_hash edited", _sql("UPDATE audit_records SET prev_hash='" + "e" * 64 + "' WHERE kommun=:k AND seq=4"),
     False),
    ("seq edited (renumbered into a gap)", _sql("UPDATE audit_records SET seq=60 WHERE kommun=:k AND seq=6"), False),
    ("created_at back-dated", _sql("UPDATE audit_records SET created_at='2020-01-01 00:00:00' "
                                   "WHERE kommun=:k AND seq=2"), False),
    ("day edited, hashes recomputed", _then_rechain(_sql(
        "UPDATE audit_records SET day='2016-01-01' WHERE kommun=:k AND seq=2"), 2), False),
    ("level edited, hashes recomputed", _then_rechain(_sql(
        "UPDATE audit_records SET level='advisory' WHERE kommun=:k AND seq=2"), 2), False),
    ("forged record appended with correct hash and head", _forged_append, False),
    ("recent record marked gallrad with emptied body", _sql(
        "UPDATE audit_records SET body='', personnummer=NULL, purged_at='2030-01-01 00:00:00' "
        "WHERE kommun=:k AND seq=3"), False),
    ("hash version downgraded to 1 and body emptied", _sql(
        "UPDATE audit_records SET hash_version=1, body='', personnummer=NULL, purged_at=created_at "
        "WHERE kommun=:k AND seq=3"), False),
    ("tail truncated and head rewritten", _then_rechain(_sql("DELETE FROM audit_records WHERE kommun=:k AND seq>=5")),
     False),
    ("tail truncated and an old signed head replayed", _replay_old_head, True),
    ("reorder (two records swapped)", _sql(
        "UPDATE audit_records SET seq=1000 WHERE kommun=:k AND seq=2",
        "UPDATE audit_records SET seq=2 WHERE kommun=:k AND seq=3",
        "UPDATE audit_records SET seq=3 WHERE kommun=:k AND seq=1000"), False),
    ("duplicate (a record copied as a new tail, chain recomputed)", _duplicate, False),
    ("the whole chain and its head deleted", _sql("DELETE FROM audit_records WHERE kommun=:k",
                                                  "DELETE FROM audit_chain_heads WHERE kommun=:k"), True),
]


def _setup(store: AuditStore, path: Path):
    write(store, INDIVIDUAL, 4)
    with store.engine.connect() as conn:
        old_head = conn.execute(text("SELECT * FROM audit_chain_heads WHERE kommun=:k"), {"k": K}).first()
    write(store, INDIVIDUAL, 2)
    append_checkpoint(store, path)
    assert _findings(store, path) == ([], [])
    return old_head


def _findings(store: AuditStore, path: Path) -> tuple[list, list]:
    """(chain findings, checkpoint findings), as `iub audit verify` makes them."""
    cut = cutoffs(TODAY, RETENTION)
    chains = [b for b in store.verify(purged_too_early=lambda h: not expired(cut, h.level, h.day),
                                      purge_allowed=purge_allowed_by(RETENTION, TODAY)).values() if b]
    latest, bad = latest_checkpoints(read_checkpoints(path), store.signer)
    known = {k for k in store.kommuner()}
    diffs = [why for why in store.compare_checkpoint(latest.values(),
                                                     lambda level, day: not expired(cut, level, day)).values() if why]
    return chains, bad + diffs + [f"{k} saknas" for k in latest if k not in known and not diffs]


@pytest.mark.parametrize(("attack", "needs_checkpoint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_tamper_case_is_caught(store, tmp_path, attack, needs_checkpoint):
    path = tmp_path / "checkpoints.jsonl"
    old_head = _setup(store, path)
    with store.engine.begin() as conn:
        attack(conn, old_head)
    chains, checkpoint = _findings(store, path)
    if needs_checkpoint:
        assert checkpoint, "only the exported checkpoint can tell, and it must"
    else:
        assert chains, "caught by verify alone, without a checkpoint"
    FIGURES[f"tamper cases caught ({store.engine.dialect.name}) of {len(CASES)}"] += 1


def test_a_forged_or_edited_checkpoint_line_is_refused(store, tmp_path):
    """Checkpoint forgery: the attacker truncates, replays an old head and writes a matching checkpoint."""
    path = tmp_path / "checkpoints.jsonl"
    old_head = _setup(store, path)
    with store.engine.begin() as conn:
        _replay_old_head(conn, old_head)
    line = json.loads(path.read_text().splitlines()[-1])
    line["heads"][0].update(seq=old_head.seq, hash=old_head.hash)  # MAC left as it was (no key)
    path.write_text(json.dumps(line) + "\n")
    _chains, checkpoint = _findings(store, path)
    assert any("inte signerad" in w for w in checkpoint)
    FIGURES[f"tamper cases caught ({store.engine.dialect.name}) of {len(CASES)}"] += 0  # counted apart
    FIGURES[f"checkpoint forgery caught ({store.engine.dialect.name})"] += 1


def test_legitimate_gallring_still_verifies_and_matches_the_checkpoint(store, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    write(store, INDIVIDUAL, 3)
    later = NOW + dt.timedelta(days=400)
    write(store, INDIVIDUAL, 2, at=later)
    write(store, ("ostersund", "akutboendet"), 1)  # an old record behind young ones: emptied, not deleted
    append_checkpoint(store, path)
    retention = {**RETENTION, "individual": 365}
    store.purge(cutoffs(later.date(), retention), now=later)
    cut = cutoffs(later.date(), retention)
    assert store.verify(purge_allowed=purge_allowed_by(retention, later.date()),
                        purged_too_early=lambda h: not expired(cut, h.level, h.day)) == {K: None}
    latest, bad = latest_checkpoints(read_checkpoints(path), store.signer)
    assert bad == []
    assert store.compare_checkpoint(latest.values(), lambda level, day: not expired(cut, level, day)) == {K: None}


def test_verify_reads_the_configured_checkpoint_file_by_default(store, store_url, tmp_path, monkeypatch):
    path = tmp_path / "checkpoints.jsonl"
    old_head = _setup(store, path)
    monkeypatch.setenv("IUB_AUDIT_CHECKPOINT_PATH", str(path))
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify", "--database-url", store_url]).exit_code == 0
    with store.engine.begin() as conn:
        _replay_old_head(conn, old_head)
    r = runner.invoke(app, ["audit", "verify", "--database-url", store_url])
    assert r.exit_code == 1 and "AVVIKER från kontrollpunkten" in r.output


def test_the_services_refuse_an_empty_or_default_chain_key_outside_dev_mode(monkeypatch):
    from iub_audit.domain.signing import DEV_KEY
    from iub_audit.settings import AuditSettings, SecretMissing

    for value in ("", DEV_KEY, "short"):
        monkeypatch.setenv("IUB_AUDIT_CHAIN_KEY", value)
        with pytest.raises(SecretMissing):
            AuditSettings().signer()
    monkeypatch.setenv("IUB_AUDIT_CHAIN_KEY", "")
    monkeypatch.setenv("IUB_DEV_MODE", "1")
    assert AuditSettings().signer().key == DEV_KEY.encode()
    monkeypatch.delenv("IUB_DEV_MODE")
    monkeypatch.setenv("IUB_AUDIT_LINK_KEY", "")
    with pytest.raises(SecretMissing):
        AuditSettings().link_keys()


def test_signer_is_what_the_store_uses():
    assert SIGNER.key_id and len(SIGNER.key_id) == 12


def test_the_service_refuses_to_start_without_its_keys(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("IUB_AUDIT_CHAIN_KEY", "IUB_AUDIT_LINK_KEY",
                                                            "IUB_DEV_MODE")}
    env["IUB_VAR_DIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-m", "iub_audit"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "IUB_AUDIT_CHAIN_KEY" in r.stderr


async def test_the_service_appends_signed_checkpoints_on_a_schedule(store, tmp_path):
    import asyncio

    from iub_audit.checkpoints import export_loop

    write(store, INDIVIDUAL, 2)
    path = tmp_path / "cp" / "checkpoints.jsonl"
    task = asyncio.create_task(export_loop(store, path, 0.05))
    try:
        for _ in range(200):
            if path.exists() and len(path.read_text().splitlines()) >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    latest, bad = latest_checkpoints(read_checkpoints(path), store.signer)
    assert bad == [] and latest[K].seq == 2 and len(path.read_text().splitlines()) >= 3


def test_a_waiting_unlinkable_record_edited_before_its_hour_is_over_is_caught_and_not_chained(store):
    from audit_support import ANONYMISED, CATALOG, KEYS, decision

    from iub_audit.domain.documenting import document_decision

    store.append_many([document_decision(CATALOG, decision(*ANONYMISED), KEYS).record.item], now=NOW)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_staged SET body = replace(body, 'okänt', 'kvinna')"))
        conn.execute(text("UPDATE audit_staged SET body = replace(body, '\"man\"', '\"kvinna\"')"))
    assert store.verify()[ANONYMISED[0]] is not None
    assert store.flush_staged(NOW, everything=True) == 0  # never laundered into the chain
