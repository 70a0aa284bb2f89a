"""What each panel of the stats page shows, built from plain values. Pure: no Faust, no I/O.

The handlers (:mod:`logiflow.web.api_overview` and its siblings) read tables, metrics and the
consumer, then call these. Every function builds new dicts: table values are never changed here
(with the ``memory://`` store a handler holds the stored value itself, and a write into it would
change the table without a changelog record). Field names are the API's (camelCase) and are
documented in ``docs/web-api.md``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from logiflow.adapters.render_stats import RenderStats
from logiflow.dlq.views import describe_payload
from logiflow.domain.dlq.index import PREVIEW_BYTES, Entry
from logiflow.domain.invoice import is_invoice_id
from logiflow.topics import CALCULATE_ROUTES, GENERATE_INVOICES
from logiflow.web import prom

Json = dict[str, Any]
# The agents the flow panels and /metrics always show, even before they processed anything.
AGENTS = (CALCULATE_ROUTES, GENERATE_INVOICES)


# --- trucks --------------------------------------------------------------------------------

def truck_summary(truck_id: str, routes: Json | None, invoices: Json | None) -> Json:
    """A truck's row in the trucks table, from its two table values (either may be missing)."""
    routes = routes or {}
    invoices = invoices or {}
    return {
        "truckId": routes.get("truckId") or invoices.get("truckId") or truck_id,
        "routes": routes.get("routes", 0),
        "km": routes.get("km", 0.0),
        "lastDestination": routes.get("lastDestination"),
        "eta": routes.get("eta"),
        "invoices": invoices.get("invoices", 0),
        "revenue": invoices.get("revenue", "0.00"),
        "currency": invoices.get("currency"),
        "lastEventTime": max(routes.get("lastEventTime", 0), invoices.get("lastInvoiceTime", 0)) or None,
    }


def truck_view(truck_id: str, routes: Json | None, invoices: Json | None) -> Json:
    """The truck's row plus its recent routes and invoices (copies, with download links)."""
    return {
        **truck_summary(truck_id, routes, invoices),
        "recentRoutes": [dict(r) for r in (routes or {}).get("recent", [])],
        "recentInvoices": [{**i, "downloadUrl": download_url(str(i.get("invoiceId")))}
                           for i in (invoices or {}).get("recent", [])],
    }


def search_trucks(routes: Mapping[str, Json], invoices: Mapping[str, Json], q: str | None,
                  limit: int) -> tuple[list[Json], int]:
    """Trucks whose id or last destination contains ``q`` (any case), by id: (rows, matches)."""
    needle = (q or "").casefold()
    rows = []
    for truck in sorted(set(routes) | set(invoices)):
        row = truck_summary(truck, routes.get(truck), invoices.get(truck))
        haystack = f"{truck}\n{row.get('lastDestination') or ''}".casefold()
        if needle in haystack:
            rows.append(row)
    return rows[:limit], len(rows)


def _decimal(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return Decimal(0)


def totals(routes: Iterable[Json], invoices: Iterable[Json], currency: str) -> Json:
    """Sums over the per-truck tables this worker holds."""
    trucks: set[str] = set()
    n_routes, km = 0, 0.0
    for r in routes:
        trucks.add(str(r.get("truckId")))
        n_routes += int(r.get("routes", 0))
        km += float(r.get("km", 0.0))
    n_invoices = 0
    by_currency: dict[str, Decimal] = {}
    for i in invoices:
        trucks.add(str(i.get("truckId")))
        n_invoices += int(i.get("invoices", 0))
        cur = str(i.get("currency") or currency)
        by_currency[cur] = by_currency.get(cur, Decimal(0)) + _decimal(i.get("revenue", "0"))
    return {
        "trucks": len(trucks), "routes": n_routes, "km": round(km, 1), "invoices": n_invoices,
        "revenue": str(by_currency.get(currency, Decimal("0.00"))), "currency": currency,
        "revenueByCurrency": {c: str(v) for c, v in sorted(by_currency.items())},
    }


# --- invoices ------------------------------------------------------------------------------

def download_url(invoice_id: str) -> str | None:
    return f"/invoices/{invoice_id}.pdf" if is_invoice_id(invoice_id) else None


def recent_invoices(issued: Iterable[tuple[str, Json]], limit: int) -> list[Json]:
    """The newest invoices first (by when this app issued them)."""
    rows = [{
        "invoiceId": invoice_id,
        "invoiceNumber": v.get("invoiceNumber"),
        "truckId": v.get("truckId"),
        "gross": v.get("gross"),
        "currency": v.get("currency"),
        "routeEventId": v.get("routeEventId"),
        "timestamp": v.get("timestamp"),
        "issuedAt": v.get("issuedAt"),
        "downloadUrl": download_url(invoice_id),
    } for invoice_id, v in issued]
    rows.sort(key=lambda r: (r["issuedAt"] or 0, r["invoiceId"]), reverse=True)
    return rows[:limit]


# --- flow ----------------------------------------------------------------------------------

def rate_series(rates: Mapping[str, Sequence[Sequence[int]]], agents: Iterable[str],
                window_s: int, now_s: int) -> Json:
    """Events/s per agent as one count per second, oldest first, ending at ``now_s``."""
    start = now_s - window_s + 1
    series: dict[str, list[int]] = {}
    for agent in sorted(set(agents) | set(rates)):
        counts = dict.fromkeys(range(start, now_s + 1), 0)
        for second, count in rates.get(agent, ()):
            if second in counts:
                counts[second] = count
        series[agent] = list(counts.values())
    return {"windowS": window_s, "startS": start, "endS": now_s, "series": series}


def latency_summary(snapshot: Mapping[str, Any], last_s: float | None) -> Json:
    """End-to-end latency (route request → invoice published) from the histogram snapshot.

    Percentiles are bucket upper bounds (``None`` above the last bound), as Prometheus'
    ``histogram_quantile`` would bound them.
    """
    bounds, counts, count = snapshot["buckets"], snapshot["counts"], snapshot["count"]

    def quantile(q: float) -> float | None:
        if not count:
            return None
        running = 0
        for bound, n in zip(bounds, counts, strict=False):
            running += n
            if running >= q * count:
                return float(bound)
        return None

    return {
        "count": count,
        "lastS": None if last_s is None else round(last_s, 3),
        "meanS": round(snapshot["sum"] / count, 3) if count else None,
        "p50S": quantile(0.5), "p95S": quantile(0.95), "p99S": quantile(0.99),
        "buckets": [{"le": le, "count": n} for le, n in zip(prom.le_labels(bounds), counts, strict=True)],
    }


def renderer_health(stats: RenderStats) -> Json:
    """The renderer processes, for ``/api/health``."""
    return {"workers": stats["workers"], "alive": stats["alive"]}


def renderer_view(stats: RenderStats) -> Json:
    """The renderer's counters, with its render-time histogram as *cumulative* ``le`` rows."""
    view: Json = {k: v for k, v in stats.items() if k != "render_seconds"}
    rs = stats["render_seconds"]
    view["renderSeconds"] = {
        "buckets": [{"le": le, "count": n} for le, n in prom.cumulative_buckets(rs["buckets"], rs["counts"])],
        "sum": rs["sum"], "count": rs["count"]}
    return view


def lag_row(topic: str, partition: int, highwater: int | None, committed: int | None,
            read: int | None) -> Json:
    """Consumer lag of one partition: messages not yet read (``lag``) and not yet committed.

    ``read`` is the offset of the last message read, ``committed`` the next offset to read
    after a restart, ``highwater`` the offset the next produced message will get.
    """
    position = None
    if read is not None:
        position = read + 1
    if committed is not None:
        position = max(position or 0, committed)
    lag = None if highwater is None or position is None else max(0, highwater - position)
    if highwater == 0:
        lag = 0
    uncommitted = None if highwater is None or committed is None else max(0, highwater - committed)
    return {"topic": topic, "partition": partition, "highwater": highwater,
            "committed": committed, "position": position, "lag": lag,
            "uncommittedLag": uncommitted}


# --- dead-letter queue ---------------------------------------------------------------------

def dlq_item(entry: Entry) -> Json:
    """An entry in the DLQ list (the detail adds payload, headers, traceback and history)."""
    return {
        "id": entry["id"], "status": entry["status"], "sourceTopic": entry["sourceTopic"],
        "sourcePartition": entry["sourcePartition"], "sourceOffset": entry["sourceOffset"],
        "agent": entry["agent"], "kind": entry["kind"], "reason": entry["reason"],
        "errorClass": entry["errorClass"], "errorMessage": entry["errorMessage"],
        "truckId": entry["truckId"], "attempts": entry["attempts"], "failures": entry["failures"],
        "replayCount": entry["replayCount"], "firstFailure": entry["firstFailure"],
        "lastFailure": entry["lastFailure"],
    }


def _unb64(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def header_view(name: str, raw: bytes) -> Json:
    """A header value as text when it is printable UTF-8, else as hex."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"name": name, "encoding": "hex", "value": raw[:PREVIEW_BYTES].hex(" ")}
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return {"name": name, "encoding": "hex", "value": raw[:PREVIEW_BYTES].hex(" ")}
    return {"name": name, "encoding": "text", "value": text[:PREVIEW_BYTES]}


def dlq_detail(entry: Entry, can_act: bool) -> Json:
    """One entry with its payload decoded where safe (JSON, text or hex), never executed."""
    preview = _unb64(entry["preview"]) or b""
    key = _unb64(entry["key"])
    headers = []
    for pair in entry["headers"]:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            headers.append(header_view(str(pair[0]), _unb64(pair[1]) or b""))
    status = entry["status"]
    return {
        **dlq_item(entry),
        "group": entry["group"],
        "sourceTimestamp": entry["sourceTimestamp"],
        "version": entry["version"],
        "key": None if key is None else describe_payload(key),
        "payload": describe_payload(preview),
        "payloadBytes": entry["valueSize"],
        "payloadSha256": entry["valueSha256"],
        "previewBytes": len(preview),
        "truncated": entry["truncated"],
        "headers": headers,
        "stacktrace": entry["stacktrace"],
        "history": list(entry["history"]),
        "dlqPartition": entry["dlqPartition"],
        "dlqOffset": entry["dlqOffset"],
        "actions": {
            "replay": can_act and status in ("new", "replayed"),
            "discard": can_act and status in ("new", "replayed", "parked"),
        },
    }
