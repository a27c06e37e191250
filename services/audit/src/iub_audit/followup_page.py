"""The board's follow-up page (uppföljning): the same suppressed tables as ``iub audit followup``,
in Swedish, with charts drawn server-side as inline SVG (no script, no CDN, works offline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse

from iub_audit.carrying_out import followup_rows
from iub_audit.domain.followup import followup
from iub_audit.insyn import AuthFirstRoute, Guard, Problem, problem_responses
from iub_contracts.api import FieldProblem
from iub_runtime.auth import ClientConfig, Operation

MONTH_NAMES = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
LEVEL_NAMES = {"individual": "14 kap. 3 § (individnivå)", "anonymised": "14 kap. 5 § (avidentifierat)",
               "advisory": "14 kap. 4 § (rådgivning)"}
OUTCOME_NAMES = {"completed": "Genomförd", "never_started": "Påbörjades aldrig", "ongoing": "Pågår"}


def report(engine: Any, catalog: Any, kommun: str, year: int, insats: str | None = None) -> dict[str, Any]:
    """The follow-up of a kommun's year (suppressed), with insats names from the catalogue."""
    kc = catalog.kommun(kommun)
    reasons = [c.code for c in kc.followup.end_reasons] if kc is not None and kc.followup else []
    out = followup(followup_rows(engine, kommun, year, insats), year, reasons)
    for item in out["insatser"]:
        found = catalog.lookup(kommun, item["insats_id"])
        item["insats_name"] = found[1].versions[-1].name if found else item["insats_id"]
    labels = {c.code: c.label for c in kc.followup.end_reasons} if kc is not None and kc.followup else {}
    return {"kommun": kommun, "kommun_name": kc.name if kc else kommun, "reason_labels": labels, **out}


def _bar_chart(values: dict[str, Any], labels: list[str], title: str) -> str:
    """Vertical bars of published counts; a suppressed count is drawn as a marked stub with its label."""
    w, h, pad = 480, 180, 28
    nums = [v for v in values.values() if isinstance(v, int)]
    top = max(nums + [5])
    bw = (w - 2 * pad) / max(len(labels), 1)
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {w} {h + 40}" width="{w}" '
             f'><title>{escape(title)}</title>',
             f'<line x1="{pad}" y1="{h}" x2="{w - pad}" y2="{h}" stroke="#333"/>']
    for i, (key, label) in enumerate(zip(values, labels, strict=True)):
        v = values[key]
        x = pad + i * bw + 4
        height = (v / top) * (h - 20) if isinstance(v, int) else 6
        fill = "#2a6f97" if isinstance(v, int) else "#bbb"
        parts.append(f'<rect x="{x:.1f}" y="{h - height:.1f}" width="{bw - 8:.1f}" height="{height:.1f}" '
                     f'fill="{fill}"><title>{escape(label)}: {escape(str(v))}</title></rect>')
        parts.append(f'<text x="{x + (bw - 8) / 2:.1f}" y="{h - height - 4:.1f}" font-size="11" '
                     f'text-anchor="middle">{escape(str(v))}</text>')
        parts.append(f'<text x="{x + (bw - 8) / 2:.1f}" y="{h + 16}" font-size="11" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _share_chart(share: float | None) -> str:
    """A horizontal bar of the share completed (or why it is not shown)."""
    if share is None:
        return "<p>Andel genomförda visas inte (för få avslut för att visa utan att röja enskilda).</p>"
    w = 320
    return (f'<svg role="img" aria-label="Andel genomförda {share:.0%}" viewBox="0 0 {w} 30" width="{w}" '
            f'><title>Andel genomförda</title>'
            f'<rect x="0" y="5" width="{w}" height="20" fill="#ddd"/>'
            f'<rect x="0" y="5" width="{w * share:.1f}" height="20" fill="#2a6f97"/>'
            f'<text x="{w - 4}" y="20" font-size="12" text-anchor="end">{share:.0%}</text></svg>')


def _table(headers: list[str], rows: list[list[Any]], caption: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<th scope="row">{escape(str(r[0]))}</th>' if j == 0
                                    else f"<td>{escape(str(c))}</td>" for j, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(rep: dict[str, Any]) -> str:
    """The page's HTML (Swedish, no script)."""
    parts = [f"<h1>Uppföljning {rep['year']} – {escape(rep['kommun_name'])}</h1>",
             "<p>Små tal (1–4) visas som &lt;5; x döljer ett tal som annars skulle röja ett litet tal.</p>"]
    if not rep["insatser"]:
        parts.append("<p>Inga dokumenterade genomföranden detta år.</p>")
    for it in rep["insatser"]:
        parts.append(f"<section><h2>{escape(it['insats_name'])}</h2><p>{escape(it['unit'])} · "
                     f"{escape(LEVEL_NAMES.get(it['level'], it['level']))}</p>")
        if it["level"] == "advisory":
            cells = it["advisory_by_topic"]["cells"]
            parts.append(_table(["Ämne", "Kontakter"], [[k, v] for k, v in cells.items()]
                                + [["Totalt", it["advisory_by_topic"]["total"]]], "Rådgivning per ämne"))
            parts.append("</section>")
            continue
        parts.append(_table(["Mått", "Antal"], [["Kontakter", it["contacts"]], ["Deltagare", it["participants"]],
                                                ["Påbörjade", it["started"]]], "Genomförande"))
        names = {**OUTCOME_NAMES, **{f"ended_early:{k}": f"Avbruten i förtid: {v}"
                                     for k, v in rep["reason_labels"].items()}}
        parts.append(_table(["Avslut", "Deltagare"], [[names.get(k, k), v] for k, v in it["outcome"].items()],
                            "Hur insatsen avslutades"))
        ag = it["age_gender"]
        parts.append(_table(["Ålder", *ag["columns"], "Totalt"],
                            [[b, *(ag["cells"][f"{b}|{g}"] for g in ag["columns"]), ag["row_totals"][b]]
                             for b in ag["rows"]]
                            + [["Totalt", *(ag["column_totals"][g] for g in ag["columns"]), ag["total"]]],
                            "Ålder och juridiskt kön"))
        if it.get("change_start_to_end"):
            ch = it["change_start_to_end"]
            cols = ["bättre", "oförändrat", "sämre", "ändrad"]
            parts.append(_table(["", *cols], [[r, *(v.get(c, "–") for c in cols)] for r, v in ch.items()],
                                "Förändring från start till avslut (avidentifierat)"))
        parts.append("<h3>Deltagare per månad (påbörjade)</h3>")
        parts.append(_bar_chart(it["participants_per_month"], list(MONTH_NAMES), "Deltagare per månad"))
        parts.append("<h3>Andel genomförda av avslutade</h3>")
        parts.append(_share_chart(it["share_completed"]))
        parts.append("</section>")
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
             "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #999;padding:.2rem .5rem}"
             "caption{text-align:left;font-weight:bold}section{margin-bottom:2rem}")
    return (f'<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Uppföljning {rep["year"]}</title>'
            f"<style>{style}</style></head><body><main>{''.join(parts)}</main></body></html>")


def build_router(get_svc: Callable[[], Any], guard: Guard) -> APIRouter:
    """GET /v1/followup: HTML for the board (JSON with format=json); client scoped to its kommuner."""
    router = APIRouter(tags=["uppföljning"], route_class=AuthFirstRoute)

    @router.get("/v1/followup", response_class=HTMLResponse,
                responses={200: {"description": "The follow-up: HTML for the board, JSON with format=json",
                                 "content": {"text/html": {"schema": {"type": "string"}},
                                             "application/json": {"schema": {"type": "object"}}}},
                           **problem_responses(401, 403, 404, 422, 429, 503)})
    async def page(kommun: str = Query(..., pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80),
                   year: int = Query(..., ge=2025, le=2100),
                   insats: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=120),
                   format: str = Query("html", pattern="^(html|json)$"),
                   who: ClientConfig = Depends(guard.require(Operation.FOLLOWUP_READ))):
        """The follow-up of a kommun's year, suppressed as `iub audit stats`, with SVG charts."""
        if not who.may(Operation.FOLLOWUP_READ, kommun):
            raise Problem(403, "Klienten har inte behörighet för kommunen")
        svc = get_svc()
        if svc.catalog.kommun(kommun) is None:
            raise Problem(404, "Okänd kommun", [FieldProblem(field="kommun", problem="finns inte i katalogen")])
        # a year with nothing documented yet (a future one too) is an empty follow-up, not an error
        rep = await asyncio.to_thread(report, svc.store.engine, svc.catalog, kommun, year, insats)
        if format == "json":
            return JSONResponse(rep, headers={"Cache-Control": "no-store"})
        return HTMLResponse(render(rep), headers={"Cache-Control": "no-store",
                                                  "Content-Security-Policy": "default-src 'none'; style-src "
                                                  "'unsafe-inline'; img-src 'self'"})

    return router
