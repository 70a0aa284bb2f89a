"""The trucks and invoices panels: ``/api/trucks``, ``/api/trucks/{truck}``, ``/api/invoices/recent``.

The list and the recent invoices read this worker's share of the tables it holds (``covers``);
one truck is answered by the worker that owns its partition. With split roles a truck's routes
and its invoices live with different workers: ``/api/trucks/{truck}`` asks the routing owner
and the invoicing owner (``/api/trucks/{truck}/routes`` and ``.../invoices``), whichever worker
is asked. Table values are read, never changed: the answers are new dicts
(:mod:`logiflow.web.panels`). Fields: ``docs/web-api.md``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.web import Request, View

from logiflow.app import app
from logiflow.web import panels, params
from logiflow.web.errors import NotFound, Unavailable
from logiflow.web.http import Json, answer_from_owner, held, json_endpoint, me, query, value_from_owner
from logiflow.web.owners import partition_for_key
from logiflow.web.worker import status
from tables.trucks import invoices_issued, truck_invoices, truck_routes


@app.page("/api/trucks")
@json_endpoint
async def trucks(self: View, request: Request) -> Json:
    p = query(request, "q", "limit")
    q, limit = p.text("q"), p.integer("limit", 100, 1, 1000)
    rows, matched = panels.search_trucks(local_items(truck_routes), local_items(truck_invoices),
                                         q, limit)
    return {"q": q or "", "matched": matched, "trucks": rows, "covers": covers(),
            "role": app.settings.role}


def local_items(table: Any) -> dict[str, Json]:
    return dict(table.items()) if held(table) else {}


def covers() -> Json:
    """Which partitions the local lists cover: those of the truck table this worker holds."""
    table = next((t for t in (truck_routes, truck_invoices) if held(t)), None)
    if table is None:
        return {"workers": [], "tablePartitions": [], "partitionsTotal": app.deps.settings.partitions,
                "allWorkers": []}
    return status.coverage(table)


PARTS = {"routes": truck_routes, "invoices": truck_invoices}


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

    if held(truck_routes) and held(truck_invoices):  # role all: one owner holds both
        return await answer_from_owner(self, request, truck_routes, partition, local)
    async def part(name: str, table: Any) -> tuple[Json | None, Json]:
        async def here() -> Json:
            return {"value": table.get(truck_id)}

        try:
            body = await value_from_owner(request, table, partition,
                                          f"/api/trucks/{truck_id}/{name}", here)
        except Unavailable as exc:
            return None, {"error": exc.message}
        return body.get("value"), {"servedBy": body.get("servedBy")}

    # The routing owner and the invoicing owner, asked at the same time.
    answers = await asyncio.gather(*(part(name, table) for name, table in PARTS.items()))
    values = {name: value for name, (value, _) in zip(PARTS, answers, strict=True)}
    parts = {name: p for name, (_, p) in zip(PARTS, answers, strict=True)}
    if all("error" in p for p in parts.values()):
        raise Unavailable("neither the routing nor the invoicing owner answered",
                          partition=partition, parts=parts)
    if values["routes"] is None and values["invoices"] is None and not any(
            "error" in p for p in parts.values()):
        raise NotFound("no such truck (on the workers that own its partition)", truckId=truck_id)
    return {**panels.truck_view(truck_id, values["routes"], values["invoices"]),
            "partition": partition, "servedBy": me(), "parts": parts}


@app.page("/api/trucks/{truck}/{part}")
@json_endpoint
async def truck_part(self: View, request: Request, truck: str, part: str) -> Any:
    """One truck's value in one table (``routes`` or ``invoices``), from the worker owning it."""
    table = PARTS.get(part)
    if table is None:
        raise NotFound("no such part of a truck: routes or invoices", part=part[:40])
    truck_id = params.truck_id(truck)
    query(request)
    partition = partition_for_key(truck_id.encode(), app.deps.settings.partitions)

    async def local() -> Json:
        value = table.get(truck_id)
        if value is None:
            raise NotFound(f"no {part} for this truck", truckId=truck_id)
        return {"truckId": truck_id, "part": part, "partition": partition, "value": value}

    return await answer_from_owner(self, request, table, partition, local)


@app.page("/api/invoices/recent")
@json_endpoint
async def recent_invoices(self: View, request: Request) -> Json:
    limit = query(request, "limit").integer("limit", 20, 1, 500)
    issued = invoices_issued.items() if held(invoices_issued) else []
    return {"invoices": panels.recent_invoices(issued, limit), "covers": covers()}
