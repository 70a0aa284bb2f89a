"""The final accounting: every topic read from the beginning, the invoice folder, the tables. Pure.

Definitions (the figures the campaign prints):

* requests sent: distinct request ids in ``routing.requests`` (valid ones; poison apart).
* lost route: a valid request with no RouteCalculated and no DLQ entry.
* lost invoice: a RouteCalculated (event id) with no InvoiceGenerated (``routeEventId``) and
  no DLQ entry.
* duplicate RouteCalculated: records beyond the first per request id; duplicate
  InvoiceGenerated: records beyond the first per invoice id.
* double-billed: a request whose routes carry more than one invoice id (two PDFs, two bills).
* PDFs vs distinct invoice ids; stray files: anything in the invoice folder that is not an
  ``INV-*.pdf`` (a ``.INV-*.tmp`` left by a write cut short).
* DLQ entries: failure records (lifecycle records apart), by source and reason.
* tables equal: per truck, the ``truck-routes`` and ``truck-invoices`` changelogs' latest values
  against the totals recomputed from the topics (routes = distinct request ids routed, km = their
  distances, invoices = distinct invoice ids, revenue = their gross); ``invoices-issued`` keys
  against the distinct invoice ids.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bench.faults.traffic import POISON_MARK
from logiflow.domain.invoice import is_invoice_id
from tests.support.harness import Record

# Wire contract of DLQ records (logiflow/domain/dlq.py's header reference).
DLQ_TOPIC, DLQ_EVENT = "logiflow.dlq.topic", "logiflow.dlq.event"
DLQ_REASON, DLQ_KIND = "logiflow.dlq.reason", "logiflow.dlq.kind"
SAMPLE = 10  # ids listed per figure, for a first look


@dataclass
class Inputs:
    requests_topic: str
    routes_topic: str
    requests: list[Record]
    routes: list[Record]
    invoices: list[Record]
    dlq: list[Record]
    truck_routes: dict[str, Any]
    truck_invoices: dict[str, Any]
    issued: dict[str, Any]
    files: list[str] = field(default_factory=list)  # names in the invoice folder


def _json(value: bytes) -> dict[str, Any]:
    try:
        body = json.loads(value)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _extra(counts: Counter[str]) -> int:
    return sum(n - 1 for n in counts.values() if n > 1)


def _decimal(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return Decimal("NaN")


def _offsets(records: Iterable[Record]) -> dict[int, dict[str, int]]:
    """Per source partition: how many, first and last offset (where the loss happened)."""
    out: dict[int, dict[str, int]] = {}
    for r in records:
        o = out.setdefault(r.partition, {"count": 0, "first": r.offset, "last": r.offset})
        o.update(count=o["count"] + 1, first=min(o["first"], r.offset), last=max(o["last"], r.offset))
    return dict(sorted(out.items()))


def account(i: Inputs) -> dict[str, Any]:
    """Every figure, plus samples of the ids behind the non-zero ones."""
    request_ids = Counter(str(_json(r.value).get("requestId")) for r in i.requests)
    valid = {rid for rid in request_ids if POISON_MARK not in rid}
    poison = set(request_ids) - valid

    routes = [_json(r.value) for r in i.routes]
    per_request = Counter(str(r.get("requestId")) for r in routes)
    events_of: dict[str, set[str]] = defaultdict(set)     # requestId -> RouteCalculated eventIds
    first_route: dict[str, dict[str, Any]] = {}           # requestId -> its first RouteCalculated
    request_of: dict[str, str] = {}                        # eventId -> requestId
    for r in routes:
        rid, eid = str(r.get("requestId")), str(r.get("eventId"))
        events_of[rid].add(eid)
        first_route.setdefault(rid, r)
        request_of[eid] = rid

    invoices = [_json(r.value) for r in i.invoices]
    per_invoice = Counter(str(v.get("invoiceId")) for v in invoices)
    first_invoice: dict[str, dict[str, Any]] = {}
    invoice_ids_of_event: dict[str, set[str]] = defaultdict(set)
    for v in invoices:
        first_invoice.setdefault(str(v.get("invoiceId")), v)
        invoice_ids_of_event[str(v.get("routeEventId"))].add(str(v.get("invoiceId")))

    failures = [r for r in i.dlq if r.header(DLQ_EVENT) != "lifecycle"]
    dlq_ids: Counter[str] = Counter()
    dlq_requests, dlq_routes = set(), set()
    for r in failures:
        body, source = _json(r.value), r.header(DLQ_TOPIC)
        if source == i.requests_topic:
            dlq_requests.add(str(body.get("requestId")))
            dlq_ids[f"request:{body.get('requestId')}"] += 1
        elif source == i.routes_topic:
            dlq_routes.add(str(body.get("eventId")))
            dlq_ids[f"route:{body.get('eventId')}"] += 1
    reasons = Counter(f"{r.header(DLQ_KIND)}/{r.header(DLQ_REASON)}" for r in failures)

    lost_routes = sorted(valid - set(per_request) - dlq_requests)
    lost_invoices = sorted(set(request_of) - set(invoice_ids_of_event) - dlq_routes)
    lost_route_set, lost_invoice_set = set(lost_routes), set(lost_invoices)
    where_lost = {
        "routes": _offsets(r for r in i.requests
                           if str(_json(r.value).get("requestId")) in lost_route_set),
        "invoices": _offsets(r for r in i.routes if str(_json(r.value).get("eventId")) in lost_invoice_set),
    }
    double_billed = sorted(rid for rid, eids in events_of.items()
                           if len(set().union(*(invoice_ids_of_event.get(e, set()) for e in eids))) > 1)

    pdf_ids = {f[:-4] for f in i.files if f.endswith(".pdf") and is_invoice_id(f[:-4])}
    stray = sorted(f for f in i.files if not (f.endswith(".pdf") and is_invoice_id(f[:-4])))
    pdfs_per_request = Counter(request_of.get(str(first_invoice[p].get("routeEventId")), "?")
                               for p in pdf_ids if p in first_invoice)

    tables = compare_tables(i, first_route, first_invoice)
    return {
        "requestsSent": len(valid),
        "poisonSent": len(poison),
        "inputDuplicates": _extra(request_ids),
        "routeEvents": len(routes),
        "invoiceEvents": len(invoices),
        "lostRoutes": len(lost_routes),
        "lostInvoices": len(lost_invoices),
        "duplicateRouteCalculated": _extra(per_request),
        "requestsWithSeveralEventIds": sum(1 for e in events_of.values() if len(e) > 1),
        "duplicateInvoiceGenerated": _extra(per_invoice),
        "doubleBilledRequests": len(double_billed),
        "pdfs": len(pdf_ids),
        "distinctInvoiceIds": len(first_invoice),
        "duplicatePdfs": _extra(pdfs_per_request),
        "pdfsWithoutInvoiceEvent": len(pdf_ids - set(first_invoice)),
        "invoicesWithoutPdf": len(set(first_invoice) - pdf_ids),
        "strayFiles": len(stray),
        "dlqEntries": len(failures),
        "dlqByReason": dict(sorted(reasons.items())),
        "dlqValidRequests": len(dlq_requests & valid),
        "dlqRouteEvents": len(dlq_routes),
        "dlqDuplicates": _extra(dlq_ids),
        "poisonNotDeadLettered": len(poison - dlq_requests),
        "poisonRouted": len(poison & set(per_request)),
        "tablesEqual": tables["equal"],
        "tables": tables,
        "lostAt": where_lost,
        "samples": {
            "lostRoutes": lost_routes[:SAMPLE],
            "lostInvoices": lost_invoices[:SAMPLE],
            "duplicateRouteCalculated": sorted(k for k, n in per_request.items() if n > 1)[:SAMPLE],
            "duplicateInvoiceGenerated": sorted(k for k, n in per_invoice.items() if n > 1)[:SAMPLE],
            "doubleBilledRequests": double_billed[:SAMPLE],
            "strayFiles": stray[:SAMPLE],
        },
    }


def compare_tables(i: Inputs, first_route: dict[str, dict[str, Any]],
                   first_invoice: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Truck tables (latest changelog values) against totals recomputed from the topics."""
    want: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"routes": 0, "km": 0.0, "invoices": 0, "revenue": Decimal("0")})
    for r in first_route.values():
        w = want[str(r.get("truckId"))]
        w["routes"] += 1
        w["km"] += float(r.get("distanceKm") or 0.0)
    for v in first_invoice.values():
        w = want[str(v.get("truckId"))]
        w["invoices"] += 1
        w["revenue"] += _decimal(v.get("gross"))
    mismatches: list[dict[str, Any]] = []
    for truck in sorted(set(want) | set(i.truck_routes) | set(i.truck_invoices)):
        w = want.get(truck) or {"routes": 0, "km": 0.0, "invoices": 0, "revenue": Decimal("0")}
        tr, ti = i.truck_routes.get(truck) or {}, i.truck_invoices.get(truck) or {}
        have = {"routes": tr.get("routes", 0), "km": float(tr.get("km", 0.0)),
                "invoices": ti.get("invoices", 0), "revenue": _decimal(ti.get("revenue", "0"))}
        for name in ("routes", "invoices", "revenue"):
            if have[name] != w[name]:
                mismatches.append({"truck": truck, "field": name, "table": str(have[name]),
                                   "fromTopics": str(w[name])})
        # The table rounds km to 0.1 at every route: up to 0.05 per route apart from the exact sum.
        if abs(have["km"] - w["km"]) > 0.05 * max(1, w["routes"]) + 1e-6:
            mismatches.append({"truck": truck, "field": "km", "table": f"{have['km']:.1f}",
                               "fromTopics": f"{w['km']:.1f}"})
    issued = set(i.issued)
    return {
        "equal": not mismatches and issued == set(first_invoice),
        "trucks": len(want),
        "mismatches": len(mismatches),
        "mismatchSample": mismatches[:SAMPLE],
        "routesInTables": sum(int(v.get("routes", 0)) for v in i.truck_routes.values()),
        "invoicesInTables": sum(int(v.get("invoices", 0)) for v in i.truck_invoices.values()),
        "issuedKeys": len(issued),
        "issuedMissing": len(set(first_invoice) - issued),
        "issuedExtra": len(issued - set(first_invoice)),
    }
