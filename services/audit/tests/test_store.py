"""The audit store on SQLite and PostgreSQL: idempotent, hash-chained, tamper-evident, gallring."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_support import ADVISORY, ANONYMISED, FIGURES, INDIVIDUAL, NOW, PNR, decision, store_decision, write
from sqlalchemy import text

from iub_audit.domain.chain import CheckpointHead
from iub_audit.domain.retention import cutoffs, expired
from iub_audit.store import AuditStore

OSTERSUND_ADVISORY = ("ostersund", "bra-samtal-vuxen")
LATER = NOW + dt.timedelta(days=400)  # "today" for gallring: records written at NOW are 400 days old
KEEP_ALL = {"individual": 3650, "anonymised": 3650, "advisory": 3650}


def _exec(store: AuditStore, *statements: str, **params) -> None:
    with store.engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql), params)


def test_a_redelivered_decision_is_stored_once(store):
    msg = decision(*INDIVIDUAL)
    first = store_decision(store, msg)
    again = store_decision(store, msg)
    assert first.created and not again.created
    assert (first.seq, first.hash) == (again.seq, again.hash)
    assert store.count(request_id=str(msg.request_id)) == 1
    FIGURES["redeliveries stored once"] += 1


def test_records_chain_per_kommun_and_verify_intact(store):
    write(store, INDIVIDUAL, 3)
    write(store, ANONYMISED, 2)
    write(store, ADVISORY, 2)
    assert store.verify() == {"ostersund": None, "jamtland-lansverksamheter": None, "mellerud": None}
    heads = {h["kommun"]: (h["seq"], h["count"]) for h in store.checkpoint()}
    assert heads == {"ostersund": (3, 3), "jamtland-lansverksamheter": (2, 2), "mellerud": (2, 2)}


def test_the_unique_constraint_refuses_a_second_record_for_the_same_request_and_step(store):
    from sqlalchemy.exc import IntegrityError

    write(store, INDIVIDUAL, 1)
    with pytest.raises(IntegrityError):
        _exec(store, "INSERT INTO audit_records (kommun, seq, request_id, step, level, insats_id, day, body, "
                     "prev_hash, hash, created_at, hash_version) SELECT kommun, 99, request_id, step, level, "
                     "insats_id, day, body, prev_hash, hash, created_at, 2 FROM audit_records WHERE seq = 1")


SWAP_2_3 = ("UPDATE audit_records SET seq = 1000 WHERE kommun='ostersund' AND seq=2",
            "UPDATE audit_records SET seq = 2 WHERE kommun='ostersund' AND seq=3",
            "UPDATE audit_records SET seq = 3 WHERE kommun='ostersund' AND seq=1000")
ROTATE_2_3_4 = ("UPDATE audit_records SET seq = 1000 WHERE kommun='ostersund' AND seq=2",
                "UPDATE audit_records SET seq = 2 WHERE kommun='ostersund' AND seq=3",
                "UPDATE audit_records SET seq = 3 WHERE kommun='ostersund' AND seq=4",
                "UPDATE audit_records SET seq = 4 WHERE kommun='ostersund' AND seq=1000")
COPY_BODY_3_TO_2 = ("UPDATE audit_records SET body = (SELECT body FROM audit_records WHERE kommun='ostersund' "
                    "AND seq=3) WHERE kommun='ostersund' AND seq=2",)
FORGE_AFTER_HEAD = (
    "INSERT INTO audit_records (kommun, seq, request_id, step, level, insats_id, day, personnummer, body, "
    "prev_hash, hash, created_at, hash_version, content_sha256) SELECT kommun, 6, 'forged', step, level, "
    "insats_id, day, personnummer, body, hash, hash, created_at, hash_version, content_sha256 "
    "FROM audit_records WHERE kommun='ostersund' AND seq=5",)
EMPTY_AS_IF_GALLRAD = ("UPDATE audit_records SET body='', personnummer=NULL, purged_at=created_at "
                       "WHERE kommun='ostersund' AND seq=3",)

TAMPERING = [
    ("an altered record", ("UPDATE audit_records SET body = replace(body, 'akutboendet', 'annat') "
                           "WHERE kommun='ostersund' AND seq=3",), 3),
    ("an altered hash", ("UPDATE audit_records SET hash = :h WHERE kommun='ostersund' AND seq=2",), 2),
    ("an altered link to the previous record", ("UPDATE audit_records SET prev_hash = :h "
                                                "WHERE kommun='ostersund' AND seq=4",), 4),
    ("the first record deleted", ("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=1",), 1),
    ("a record deleted in the middle", ("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=2",), 2),
    ("the last record deleted", ("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=5",), 5),
    ("the last two records deleted", ("DELETE FROM audit_records WHERE kommun='ostersund' AND seq>=4",), 4),
    ("two records swapped", SWAP_2_3, 2),
    ("three records rotated", ROTATE_2_3_4, 2),
    ("a body copied over another record", COPY_BODY_3_TO_2, 2),
    ("the identity column pointed at someone else", ("UPDATE audit_records SET personnummer = '199001011234' "
                                                    "WHERE kommun='ostersund' AND seq=4",), 4),
    ("the identity swapped in record and column", (
        "UPDATE audit_records SET personnummer = '199001011234', body = replace(body, :pnr, '199001011234') "
        "WHERE kommun='ostersund' AND seq=4",), 4),
    ("the level column changed to hide a record from insyn", ("UPDATE audit_records SET level = 'advisory' "
                                                              "WHERE kommun='ostersund' AND seq=3",), 3),
    ("the day column moved", ("UPDATE audit_records SET day = '2020-01-01' WHERE kommun='ostersund' AND seq=3",),
     3),
    ("a record moved to another kommun", ("UPDATE audit_records SET kommun = 'sala' "
                                          "WHERE kommun='ostersund' AND seq=3",), 3),
    ("the head's hash altered", ("UPDATE audit_chain_heads SET hash = :h WHERE kommun='ostersund'",), 5),
    ("the head deleted", ("DELETE FROM audit_chain_heads WHERE kommun='ostersund'",), 1),
    ("a record forged after the head", FORGE_AFTER_HEAD, 6),
    ("content emptied as if gallrad, within its retention", EMPTY_AS_IF_GALLRAD, 3),
    # the head's MAC (chain key outside the database) covers the base: caught at the head
    ("the base moved without gallring", ("UPDATE audit_chain_heads SET base_seq = 2 WHERE kommun='ostersund'",), 5),
]


@pytest.mark.parametrize(("statements", "broken_at"), [t[1:] for t in TAMPERING], ids=[t[0] for t in TAMPERING])
def test_tampering_is_detected_at_the_first_broken_link(store, statements, broken_at):
    write(store, INDIVIDUAL, 5)
    assert store.verify("ostersund") == {"ostersund": None}
    _exec(store, *statements, h="f" * 64, pnr=PNR)
    keep = cutoffs(NOW.date(), KEEP_ALL)
    found = store.verify("ostersund", purged_too_early=lambda h: not expired(keep, h.level, h.day))["ostersund"]
    assert found is not None and found.seq == broken_at, found
    FIGURES["tamper cases detected"] += 1


def test_a_record_without_a_head_in_another_kommun_is_reported(store):
    write(store, INDIVIDUAL, 3)
    _exec(store, "UPDATE audit_records SET kommun = 'sala' WHERE kommun='ostersund' AND seq=3")
    result = store.verify()
    assert result["sala"] is not None and result["sala"].reason == "kedjans huvud saknas"


def test_a_truncated_chain_with_a_rewritten_head_is_caught_by_an_exported_checkpoint(store):
    write(store, INDIVIDUAL, 5)
    exported = [CheckpointHead(h["kommun"], h["seq"], h["hash"]) for h in store.checkpoint()]
    _exec(store, "DELETE FROM audit_records WHERE kommun='ostersund' AND seq>=4",
          "UPDATE audit_chain_heads SET seq = 3, hash = (SELECT hash FROM audit_records WHERE kommun='ostersund' "
          "AND seq=3) WHERE kommun='ostersund'")
    assert "signerat" in store.verify()["ostersund"].reason  # the rewritten head lacks the key's MAC
    assert "kortare" in store.compare_checkpoint(exported)["ostersund"]
    FIGURES["tamper cases detected"] += 1


def test_a_rewritten_and_rehashed_chain_is_caught_by_an_exported_checkpoint(store):
    write(store, INDIVIDUAL, 3)
    exported = [CheckpointHead(h["kommun"], h["seq"], h["hash"]) for h in store.checkpoint()]
    # an operator who knows the algorithm deletes the chain and writes a different history
    _exec(store, "DELETE FROM audit_records", "DELETE FROM audit_chain_heads")
    write(store, INDIVIDUAL, 3)
    assert store.verify() == {"ostersund": None}
    assert "annan kontrollsumma" in store.compare_checkpoint(exported)["ostersund"]
    FIGURES["tamper cases detected"] += 1


def exported_heads(store: AuditStore) -> list[CheckpointHead]:
    """The heads as `iub audit checkpoint` exports them."""
    return [CheckpointHead(h["kommun"], h["seq"], h["hash"], h["head_level"],
                           dt.date.fromisoformat(h["head_day"]) if h["head_day"] else None)
            for h in store.checkpoint()]


def test_a_prefix_deleted_with_a_forged_base_is_caught_by_an_exported_checkpoint(store):
    write(store, INDIVIDUAL, 3)
    exported = exported_heads(store)
    write(store, INDIVIDUAL, 2)
    # delete the first three records and move the base as gallring would, years too early
    _exec(store, "UPDATE audit_chain_heads SET base_seq = 3, base_hash = (SELECT hash FROM audit_records "
                 "WHERE kommun='ostersund' AND seq=3) WHERE kommun='ostersund'",
          "DELETE FROM audit_records WHERE kommun='ostersund' AND seq <= 3")
    assert "signerat" in store.verify()["ostersund"].reason  # a base move needs the chain key
    keep = cutoffs(NOW.date(), KEEP_ALL)
    why = store.compare_checkpoint(exported, lambda level, day: not expired(keep, level, day))["ostersund"]
    assert "gallringsfrist" in why
    FIGURES["tamper cases detected"] += 1


def test_a_checkpoint_still_matches_after_appends_and_after_gallring_passed_it(store):
    write(store, INDIVIDUAL, 3)
    exported = exported_heads(store)
    write(store, INDIVIDUAL, 2, at=LATER)
    assert store.compare_checkpoint(exported) == {"ostersund": None}
    cut = cutoffs(LATER.date(), {**KEEP_ALL, "individual": 365})
    store.purge(cut, now=LATER)
    # the base is the checkpointed record, and it was gallrad after its retention
    assert store.compare_checkpoint(exported, lambda level, day: not expired(cut, level, day)) == {"ostersund": None}


def test_gallring_deletes_the_expired_prefix_and_the_chain_still_verifies(store):
    old = write(store, INDIVIDUAL, 3)
    write(store, INDIVIDUAL, 2, at=LATER)
    [result] = store.purge(cutoffs(LATER.date(), {**KEEP_ALL, "individual": 365}), now=LATER)
    assert (result.deleted, result.emptied, result.base_seq, result.base_hash) == (3, 0, 3, old[-1].hash)
    assert store.verify() == {"ostersund": None}
    [head] = store.checkpoint()
    assert (head["seq"], head["count"], head["base_seq"]) == (5, 2, 3)
    assert len(store.export_person(PNR)) == 2
    write(store, INDIVIDUAL, 1, at=LATER)  # the chain goes on from its head
    assert store.verify() == {"ostersund": None}


def test_gallring_of_a_whole_chain_leaves_a_head_that_verifies(store):
    write(store, INDIVIDUAL, 3)
    [result] = store.purge(cutoffs(LATER.date(), {**KEEP_ALL, "individual": 365}), now=LATER)
    assert result.deleted == 3 and store.count() == 0
    assert store.verify() == {"ostersund": None}
    _exec(store, "UPDATE audit_chain_heads SET base_hash = :h", h="e" * 64)
    assert "inte signerat" in store.verify()["ostersund"].reason


def test_expired_records_behind_a_kept_one_lose_content_and_identity_at_once(store):
    """Individual records (short retention) interleaved with advisory ones (long retention) in one chain."""
    for kommun_insats in (INDIVIDUAL, OSTERSUND_ADVISORY, INDIVIDUAL, OSTERSUND_ADVISORY, INDIVIDUAL):
        write(store, kommun_insats, 1)
    retention = {"individual": 365, "anonymised": 3650, "advisory": 3650}
    [result] = store.purge(cutoffs(LATER.date(), retention), now=LATER)
    assert (result.deleted, result.emptied, result.base_seq) == (1, 2, 1)
    assert store.export_person(PNR) == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_records WHERE personnummer IS NOT NULL")).scalar() == 0
    cut = cutoffs(LATER.date(), retention)
    assert store.verify(purged_too_early=lambda h: not expired(cut, h.level, h.day)) == {"ostersund": None}
    # an emptied record's header is still covered by the chain
    _exec(store, "UPDATE audit_records SET day = :d WHERE purged_at IS NOT NULL AND seq = 3", d=LATER.date())
    assert store.verify()["ostersund"].seq == 3


def test_emptied_records_are_deleted_once_the_prefix_reaches_them(store):
    for kommun_insats in (OSTERSUND_ADVISORY, INDIVIDUAL, INDIVIDUAL):
        write(store, kommun_insats, 1)
    store.purge(cutoffs(LATER.date(), {"individual": 365, "anonymised": 3650, "advisory": 3650}), now=LATER)
    assert store.count() == 3
    [result] = store.purge(cutoffs(LATER.date(), {"individual": 365, "anonymised": 365, "advisory": 365}),
                           now=LATER)
    assert (result.deleted, result.base_seq) == (3, 3)
    assert store.verify() == {"ostersund": None}


def test_purge_before_a_day_never_cuts_into_a_retention(store):
    write(store, INDIVIDUAL, 2)
    [result] = store.purge(cutoffs(LATER.date(), KEEP_ALL, before=LATER.date()), now=LATER)
    assert (result.deleted, result.emptied) == (0, 0)


def test_a_broken_chain_is_not_purged_so_the_evidence_stays(store):
    write(store, INDIVIDUAL, 3)
    _exec(store, "UPDATE audit_records SET hash = :h WHERE seq = 2", h="f" * 64)
    [result] = store.purge(cutoffs(LATER.date(), {**KEEP_ALL, "individual": 365}), now=LATER)
    assert result.refused is not None and result.refused.seq == 2
    assert store.count() == 3


def test_partsinsyn_returns_only_individual_records_of_that_person(store):
    write(store, INDIVIDUAL, 2)
    write(store, ANONYMISED, 2)  # the same personnummer was given: dropped, never linkable
    write(store, ADVISORY, 1)
    rows = store.export_person(PNR)
    assert len(rows) == 2
    assert {r["level"] for r in rows} == {"individual"}
    assert store.export_person(PNR, kommuner=["sala"]) == []
    assert store.export_person("199001011234") == []
