"""What changed between two catalogues, per kommun: insatser, versions, villkor, consent, documentation.

Pure: takes two mappings kommun → KommunCatalog (loaded from two directories or two git revisions
by the caller) and lists every change a board or an auditor needs to see before it is deployed.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from iub_contracts.catalog import InsatsVersion, KommunCatalog

What = Literal[
    "kommun", "insats", "version", "villkor", "kommun_villkor", "consent", "documentation", "reading", "other"
]
How = Literal["added", "removed", "changed"]


class Change(BaseModel):
    """One change: where (kommun, insats, version), what kind, and a short Swedish description."""

    model_config = ConfigDict(frozen=True)

    kommun: str
    insats: str | None = None
    valid_from: dt.date | None = None
    what: What
    how: How
    id: str | None = None
    detail: str


def _dump(model) -> dict:
    return model.model_dump(mode="json", exclude_none=True)


def _by_id(items) -> dict:
    return {x.id: x for x in items}


def _villkor_changes(kommun: str, insats: str | None, frm: dt.date | None, old, new, what: What) -> list[Change]:
    out: list[Change] = []
    a, b = _by_id(old), _by_id(new)
    for vid in a.keys() - b.keys():
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what=what, how="removed", id=vid,
                          detail=f"Villkoret ”{a[vid].text}” har tagits bort."))
    for vid in b.keys() - a.keys():
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what=what, how="added", id=vid,
                          detail=f"Nytt villkor: ”{b[vid].text}”."))
    for vid in sorted(a.keys() & b.keys()):
        if _dump(a[vid]) != _dump(b[vid]):
            fields = sorted(k for k in {*_dump(a[vid]), *_dump(b[vid])}
                            if _dump(a[vid]).get(k) != _dump(b[vid]).get(k))
            out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what=what, how="changed", id=vid,
                              detail=f"Villkoret ”{b[vid].text}” har ändrats ({', '.join(fields)})."))
    return sorted(out, key=lambda c: (c.id or "", c.how))


def _version_changes(kommun: str, insats: str, a: InsatsVersion, b: InsatsVersion) -> list[Change]:
    frm = b.valid_from
    out = _villkor_changes(kommun, insats, frm, a.villkor, b.villkor, "villkor")
    if _dump(a.consent) != _dump(b.consent):
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="consent", how="changed",
                          detail=f"Samtyckesregeln har ändrats: under 15 år {a.consent.under_15.value} → "
                                 f"{b.consent.under_15.value}, 15–17 år {a.consent.age_15_17.value} → "
                                 f"{b.consent.age_15_17.value}, lämplighetsbedömning "
                                 f"{a.consent.suitable_15_17_without_consent} → "
                                 f"{b.consent.suitable_15_17_without_consent}."))
    if a.documentation.level is not b.documentation.level:
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="documentation", how="changed",
                          detail=f"Dokumentationsnivån har ändrats: {a.documentation.legal_basis} "
                                 f"({a.documentation.level.value}) → {b.documentation.legal_basis} "
                                 f"({b.documentation.level.value})."))
    elif _dump(a.documentation) != _dump(b.documentation):
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="documentation", how="changed",
                          detail="Dokumentationens beslutstext eller källa har ändrats (samma nivå)."))
    if (a.kommun_villkor_apply, a.kommun_villkor_exception) != (b.kommun_villkor_apply, b.kommun_villkor_exception):
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="kommun_villkor", how="changed",
                          detail=f"Kommungemensamma villkor gäller: {a.kommun_villkor_apply} → "
                                 f"{b.kommun_villkor_apply}."))
    out += _reading_changes(kommun, insats, frm, a.readings, b.readings)
    skip = {"villkor", "consent", "documentation", "kommun_villkor_apply", "kommun_villkor_exception", "readings"}
    da, db = _dump(a), _dump(b)
    other = sorted(k for k in {*da, *db} - skip if da.get(k) != db.get(k))
    if other:
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="other", how="changed",
                          detail=f"Ändrade uppgifter: {', '.join(other)}."))
    return out


def _reading_changes(kommun: str, insats: str | None, frm: dt.date | None, old, new) -> list[Change]:
    out: list[Change] = []
    a, b = _by_id(old), _by_id(new)
    for rid in sorted(a.keys() - b.keys()):
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="reading", how="removed", id=rid,
                          detail="Läsningen har tagits bort."))
    for rid in sorted(b.keys() - a.keys()):
        out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="reading", how="added", id=rid,
                          detail=f"Ny läsning ({b[rid].status.value})."))
    for rid in sorted(a.keys() & b.keys()):
        if _dump(a[rid]) != _dump(b[rid]):
            status = (f" Status {a[rid].status.value} → {b[rid].status.value}."
                      if a[rid].status is not b[rid].status else "")
            out.append(Change(kommun=kommun, insats=insats, valid_from=frm, what="reading", how="changed",
                              id=rid, detail=f"Läsningen har ändrats.{status}"))
    return out


def diff_kommun(a: KommunCatalog, b: KommunCatalog) -> list[Change]:
    """Every change from one kommun's catalogue to another's."""
    k = b.kommun
    out = _villkor_changes(k, None, None, a.kommun_villkor, b.kommun_villkor, "kommun_villkor")
    out += _reading_changes(k, None, None, a.readings, b.readings)
    ia, ib = _by_id(a.insatser), _by_id(b.insatser)
    for iid in sorted(ia.keys() - ib.keys()):
        out.append(Change(kommun=k, insats=iid, what="insats", how="removed",
                          detail=f"Insatsen ”{ia[iid].versions[-1].name}” har tagits bort."))
    for iid in sorted(ib.keys() - ia.keys()):
        v = ib[iid].versions[0]
        out.append(Change(kommun=k, insats=iid, valid_from=v.valid_from, what="insats", how="added",
                          detail=f"Ny insats ”{v.name}” från {v.valid_from.isoformat()} "
                                 f"({v.documentation.legal_basis})."))
    for iid in sorted(ia.keys() & ib.keys()):
        va = {v.valid_from: v for v in ia[iid].versions}
        vb = {v.valid_from: v for v in ib[iid].versions}
        for frm in sorted(va.keys() - vb.keys()):
            out.append(Change(kommun=k, insats=iid, valid_from=frm, what="version", how="removed",
                              detail=f"Versionen från {frm.isoformat()} har tagits bort."))
        for frm in sorted(vb.keys() - va.keys()):
            # a new dated version: compare it with the version it follows
            before = max((f for f in va if f < frm), default=None)
            out.append(Change(kommun=k, insats=iid, valid_from=frm, what="version", how="added",
                              detail=f"Ny version gäller från {frm.isoformat()}."))
            if before is not None:
                out += _version_changes(k, iid, va[before], vb[frm])
        for frm in sorted(va.keys() & vb.keys()):
            if _dump(va[frm]) != _dump(vb[frm]):
                out += _version_changes(k, iid, va[frm], vb[frm])
    other = {"name", "kind", "source_file", "contact", "reasonable_wait_days"}
    changed = sorted(f for f in other if getattr(a, f) != getattr(b, f))
    if changed:
        out.append(Change(kommun=k, what="kommun", how="changed", detail=f"Ändrade uppgifter: {', '.join(changed)}."))
    return out


def diff_catalogs(old: dict[str, KommunCatalog], new: dict[str, KommunCatalog]) -> dict[str, list[Change]]:
    """Changes per kommun (kommuner without changes are left out)."""
    result: dict[str, list[Change]] = {}
    for k in sorted(old.keys() | new.keys()):
        if k not in new:
            result[k] = [Change(kommun=k, what="kommun", how="removed", detail="Katalogen har tagits bort.")]
        elif k not in old:
            n = len(new[k].insatser)
            result[k] = [Change(kommun=k, what="kommun", how="added", detail=f"Ny katalog med {n} insatser.")]
        elif changes := diff_kommun(old[k], new[k]):
            result[k] = changes
    return result
