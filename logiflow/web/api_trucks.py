"""The trucks and invoices panels: ``/api/trucks``, ``/api/trucks/{truck}``, ``/api/invoices/recent``.

The list and the recent invoices read this worker's share of the tables (``covers``); one truck
is answered by the worker that owns its partition. Table values are read, never changed: the
answers are new dicts (:mod:`logiflow.web.panels`). Fields: ``docs/web-api.md``.
"""

from __future__ import annotations

from typing import Any

from faust.web import Request, View

from logiflow.app import app
from logiflow.web import panels, params
from logiflow.web.errors import NotFound
from logiflow.web.http import Json, answer_from_owner, json_endpoint, query
from logiflow.web.owners import partition_for_key
from logiflow.web.worker import status
from tables.trucks import invoices_issued, truck_invoices, truck_routes


@app.page("/api/trucks")
@json_endpoint
async def trucks(self: View, request: Request) -> Json:
    p = query(request, "q", "limit")
    q, limit = p.text("q"), p.integer("limit", 100, 1, 1000)
    rows, matched = panels.search_trucks(dict(truck_routes.items()), dict(truck_invoices.items()),
                                         q, limit)
    return {"q": q or "", "matched": matched, "trucks": rows, "covers": status.coverage(truck_routes)}


@app.page("/api/trucks/{truck}")
@json_endpoint
async def truck(self: View, request: Request, truck: str) -> Any:
    truck_id = params.truck_id(truck)
    query(request)
    partition = partition_for_key(truck_id.encode(), app.deps.settings.partitions)

    async def local() -> Json:
        routes, invoices = truck_routes.get(truck_id), truck_invoices.get(truck_id)
        if routes is None and invoices is None:
            raise NotFound("no such truck (on the worker that owns its partition)", truckId=truck_id)
        return {**panels.truck_view(truck_id, routes, invoices), "partition": partition}

    return await answer_from_owner(self, request, truck_routes, partition, local)


@app.page("/api/invoices/recent")
@json_endpoint
async def recent_invoices(self: View, request: Request) -> Json:
    limit = query(request, "limit").integer("limit", 20, 1, 500)
    return {"invoices": panels.recent_invoices(invoices_issued.items(), limit),
            "covers": status.coverage(truck_routes)}
