"""The operator dashboard: GET /ops (a page that refreshes itself) and GET /ops/status.json.

Read-only. Shows the stream table of ``iub ops status``, the information given and failed in
the last hour and the last dead letters (metadata only, never payloads). Not OK — a red
banner — while any dead letter exists or information is failing (thresholds default 0).
The page is static; its inline script fetches /ops/status.json every few seconds and builds
the table with textContent (no HTML from data). A Content-Security-Policy with the hashes of
the inline script and style allows nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse
from redis.asyncio import Redis

from iub_contracts.streams import ALL_STREAMS, COVERAGE_SUMMARY_KEY
from iub_runtime.stream_stats import Thresholds, evaluate, read_dead_letters, read_snapshot

NO_STORE = {"Cache-Control": "no-store"}

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right}th{background:#eee}.bad{background:#fdd;font-weight:bold}
#state{color:#555;padding:.4rem .6rem;border-radius:4px}
#state.error{color:#fff;background:#b00020;font-weight:bold}#state.ok{color:#0a5c2b;background:#e3f4e8}
td.waiting{color:#8a5a00}
"""

SCRIPT = """
"use strict";
const REFRESH_MS = Number(document.body.dataset.refreshMs);
function td(text, cls) {
  const c = document.createElement("td"); c.textContent = text; if (cls) c.className = cls; return c;
}
function age(s) {
  if (s === null || s === undefined) return "\\u2014";
  if (s < 60) return s.toFixed(1) + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + String(Math.floor(s % 60)).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h " + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
}
function renderStreams(data) {
  const bad = new Set(data.violations.map(v => v.stream + "|" + (v.group || "") + "|" + v.metric));
  const cls = (s, g, m, base) => (bad.has(s + "|" + g + "|" + m) ? "bad " : "") + (base || "");
  const body = document.querySelector("#streams tbody");
  const rows = [];
  for (const s of data.streams) {
    const groups = s.groups.length ? s.groups : [null];
    groups.forEach((g, i) => {
      const tr = document.createElement("tr");
      tr.dataset.stream = s.name;
      tr.append(td(i ? "" : s.name, "stream"), td(i ? "" : (s.exists ? String(s.length) : "(none)"), "n"),
                td(i ? "" : String(s.dead_letters), cls(s.name, "", "dead_letters", "n")));
      if (g) {
        const lag = g.lag === null ? "?" : String(g.lag) + (g.lag_exact ? "" : "+");
        tr.append(td(g.name), td(String(g.pending), cls(s.name, g.name, "pending", "n")),
                  td(String(g.waiting) + (g.waiting_exact ? "" : "+"), g.waiting ? "n waiting" : "n"),
                  td(lag, cls(s.name, g.name, "lag", "n")),
                  td(age(g.oldest_pending_age_s), cls(s.name, g.name, "oldest_pending_s", "n")),
                  td(g.consumers.map(c => c.name + " (" + age(c.idle_s) + ")").join(", ") || "\\u2014"));
      } else {
        tr.append(td("\\u2014"), td(""), td(""), td(""), td(""), td(""));
      }
      rows.push(tr);
    });
    for (const m of s.missing_groups) {
      const tr = document.createElement("tr");
      tr.append(td(""), td(""), td(""), td(m + " (missing)", "bad"), td(""), td(""), td(""), td(""), td(""));
      rows.push(tr);
    }
  }
  body.replaceChildren(...rows);
}
function renderDeadLetters(data) {
  const body = document.querySelector("#dead-letters tbody");
  body.replaceChildren(...data.dead_letters.map(d => {
    const tr = document.createElement("tr");
    tr.append(td(d.dlq_id), td(d.stream), td(d.group), td(d.entry_id), td(String(d.deliveries), "n"),
              td(d.error_type), td(d.dead_lettered_at));
    return tr;
  }));
  document.getElementById("no-dead-letters").hidden = data.dead_letters.length > 0;
}
function renderInformation(data) {
  const info = data.information;
  const failed = document.getElementById("information-failed");
  if (!info) { failed.textContent = "\\u2014"; return; }
  const more = info.exact ? "" : "+";
  document.getElementById("information-window").textContent = age(info.window_s);
  document.getElementById("information-delivered").textContent = String(info.delivered) + more;
  failed.textContent = String(info.failed) + more;
  failed.className = info.failed ? "n bad" : "n";
}
function renderCoverage(data) {
  const c = data.coverage;
  const body = document.querySelector("#coverage tbody");
  body.replaceChildren(...(c ? c.rows : []).map(r => {
    const tr = document.createElement("tr");
    tr.append(td(r.kommun), td(r.channel), td(String(r.received), "n"), td(String(r.informed), "n"),
              td(String(r.failed), r.failed ? "n bad" : "n"), td(String(r.pending), r.pending ? "n bad" : "n"));
    return tr;
  }));
  document.getElementById("no-coverage").hidden = Boolean(c);
}
function renderTopology(data) {
  const t = data.topology;
  const body = document.querySelector("#topology tbody");
  document.getElementById("topology-need").textContent = t ? String(t.min_replicas_ack) : "\u2014";
  const rows = [];
  for (const s of (t ? t.shards : [])) {
    const short = s.replicas.filter(r => r.state === "online").length < t.min_replicas_ack;
    for (const [i, r] of (s.replicas.length ? s.replicas : [null]).entries()) {
      const tr = document.createElement("tr");
      if (short) tr.className = "bad";
      tr.append(td(i ? "" : s.primary), td(i ? "" : String(s.offset), "n"), td(i ? "" : s.kommuner.join(", ")),
                td(r ? r.address : "(none)", r ? "" : "bad"), td(r ? r.state : ""),
                td(r ? String(r.offset) : "", "n"), td(r ? String(r.behind) : "", "n"));
      rows.push(tr);
    }
  }
  body.replaceChildren(...rows);
}
async function refresh() {
  const state = document.getElementById("state");
  try {
    const r = await fetch("ops/status.json", {credentials: "same-origin", cache: "no-store"});
    if (!r.ok) throw new Error("HTTP " + r.status);
    const data = await r.json();
    renderStreams(data);
    renderDeadLetters(data);
    renderInformation(data);
    renderCoverage(data);
    renderTopology(data);
    state.className = data.ok ? "ok" : "error";
    state.textContent = "Updated " + data.taken_at + " (Redis " + data.redis_version + ") \\u2014 " +
      (data.ok ? "within limits" : data.violations.map(v => v.text).join("; "));
    document.body.dataset.loaded = "true";
  } catch (e) {
    state.className = "error";
    state.textContent = "Could not read the status: " + e.message;
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IUB streams</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style></head>
<body data-refresh-ms="{refresh_ms}" data-loaded="false">
<h1>IUB operator dashboard</h1>
<p id="state">Loading…</p>
<h2>Information (11 kap 6 §) in the last <span id="information-window">hour</span></h2>
<table id="information"><thead><tr><th>delivered</th><th>failed</th></tr></thead>
<tbody><tr><td id="information-delivered" class="n"></td>
<td id="information-failed" class="n"></td></tr></tbody></table>
<h2>Redis: primaries and replicas (a write needs <span id="topology-need"></span>)</h2>
<table id="topology"><thead><tr><th>primary</th><th>offset</th><th>kommuner</th><th>replica</th><th>state</th>
<th>replica offset</th><th>behind (bytes)</th></tr></thead><tbody></tbody></table>
<h2>Streams</h2>
<table id="streams"><thead><tr><th>stream</th><th>length</th><th>dead letters</th><th>group</th>
<th>pending</th><th>waiting (retried)</th><th>lag</th><th>oldest pending</th><th>consumers (idle)</th></tr></thead>
<tbody></tbody></table>
<h2>Last dead letters</h2>
<p id="no-dead-letters" hidden>None.</p>
<table id="dead-letters"><thead><tr><th>dlq id</th><th>stream</th><th>group</th><th>entry id</th>
<th>deliveries</th><th>error</th><th>dead-lettered at</th></tr></thead><tbody></tbody></table>
<h2>Information (11 kap. 6 § SoL), from the audit store</h2>
<p id="no-coverage" hidden>No figures from the audit service yet.</p>
<table id="coverage"><thead><tr><th>kommun</th><th>channel</th><th>received</th><th>informed</th>
<th>failed</th><th>pending</th></tr></thead><tbody></tbody></table>
<p>Read-only. Replay or drop dead letters with <code>iub ops dlq</code>.</p>
<script>{script}</script>
</body></html>
"""


def _sha256(text: str) -> str:
    """A CSP source for an inline block."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def render_page(refresh_s: float) -> str:
    """The dashboard page (static; the data comes from status.json)."""
    return PAGE.format(style=STYLE, script=SCRIPT, refresh_ms=int(refresh_s * 1000))


async def read_status(redis: Redis, thresholds: Thresholds, dead_letters: int = 10,
                      streams: list[str] | None = None,
                      replication: tuple[str, int, list[str]] | None = None) -> dict[str, Any]:
    """Streams, the primaries and replicas, crossed limits and the last dead letters (metadata only)."""
    streams = streams or list(ALL_STREAMS)
    snapshot = await read_snapshot(redis, streams, replication=replication)
    violations = evaluate(snapshot, thresholds)
    letters = [
        {"dlq_stream": e.dlq_stream, "dlq_id": e.dlq_id,
         **(e.letter.model_dump(mode="json", exclude={"payload"}) if e.letter else
            {"stream": e.dlq_stream, "group": "?", "entry_id": "?", "deliveries": 0,
             "error_type": "(not a dead letter)", "dead_lettered_at": None})}
        for e in await read_dead_letters(redis, streams, dead_letters)
    ]
    return {
        "ok": not violations,
        "violations": [{**v.model_dump(), "text": str(v)} for v in violations],
        **snapshot.model_dump(mode="json"),
        "dead_letters": letters,
        # counts per kommun and channel the audit service publishes from its store (no ids)
        "coverage": json.loads(await redis.get(COVERAGE_SUMMARY_KEY) or "null"),
    }


def build_ops_router(
    get_redis: Callable[..., Any],
    authorize: Callable[..., Any],
    *,
    thresholds: Thresholds | None = None,
    refresh_s: float = 5.0,
    streams: Callable[[], list[str]] | None = None,
    replication: Callable[[], tuple[str, int, list[str]]] | None = None,
) -> APIRouter:
    """GET /ops and GET /ops/status.json; ``get_redis`` and ``authorize`` are FastAPI dependencies."""
    router = APIRouter(prefix="/ops", tags=["ops"], dependencies=[Depends(authorize)])
    limits = thresholds or Thresholds()
    page = render_page(refresh_s)
    headers = {**NO_STORE, "Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
               "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

    @router.get("", response_class=HTMLResponse, include_in_schema=False)
    async def ops_page() -> HTMLResponse:
        """The dashboard page."""
        return HTMLResponse(page, headers=headers)

    @router.get("/status.json")
    async def ops_status(redis: Redis = Depends(get_redis)) -> JSONResponse:
        """Streams, consumer groups, crossed limits and the last dead letters."""
        return JSONResponse(await read_status(redis, limits, streams=streams() if streams else None,
                                              replication=replication() if replication else None),
                            headers=NO_STORE)

    return router
