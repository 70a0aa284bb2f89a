"""``GET /api/overview``: the flow panel (totals, counters, events/s, latency, lag, breakers).

Totals cover the truck tables this worker holds (``covers`` says which partitions; a worker of
one role holds only that role's tables: ``/api/system`` sums every role's workers); the rest is
this worker's own metrics, consumer and renderer. Fields: ``docs/web-api.md``.
"""

from __future__ import annotations

import time

from faust.web import Request, View

from logiflow.app import app
from logiflow.web import panels
from logiflow.web.api_trucks import covers, local_items
from logiflow.web.http import Json, json_endpoint, query, read_only, worker_info
from logiflow.web.worker import status
from tables.trucks import truck_invoices, truck_routes


@app.page("/api/overview")
@json_endpoint
async def overview(self: View, request: Request) -> Json:
    window = query(request, "window").integer("window", 120, 10, 600)
    deps = app.deps
    metrics = deps.metrics
    now_s = int(metrics.clock())
    lag = status.consumer_lag()
    snapshot = metrics.snapshot()
    return {
        "generatedAt": int(time.time() * 1000),
        "worker": worker_info(),
        "covers": covers(),
        "readOnly": read_only(),
        "totals": panels.totals(local_items(truck_routes).values(),
                                local_items(truck_invoices).values(), deps.settings.currency),
        "processed": {a: metrics.processed.get(a, 0) for a in panels.AGENTS} | snapshot["processed"],
        "deadLettered": snapshot["deadLettered"],
        "retries": snapshot["retries"],
        "duplicatesSkipped": snapshot["duplicatesSkipped"],
        "rates": panels.rate_series(metrics.rates(window), panels.AGENTS, window, now_s),
        "latency": panels.latency_summary(snapshot["latency"], metrics.last_latency_s),
        "lag": lag,
        "lagTotal": sum(r["lag"] or 0 for r in lag),
        "breakers": [b.snapshot() for b in deps.breakers],
        "renderer": panels.renderer_view(deps.renderer.stats()),
    }
