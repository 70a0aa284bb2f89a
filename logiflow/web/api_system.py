"""``GET /api/system``: the whole deployment, whichever worker is asked.

Per role (routing, invoicing, dlq): its consumer group and state (a rebalance in progress), its
workers and the partitions each holds (and whether each is rebalancing or recovering a table),
its backlog per partition with the drain rate and the time to drain it
(:mod:`logiflow.web.system`), and its totals, summed over what each of its workers holds
(``GET /api/local/shares`` on each, per partition, so a partition is counted once even while
two workers claim it). ``complete`` says whether every partition was counted.
Fields: ``docs/web-api.md``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import aiohttp
from faust.web import Request, View
from yarl import URL

from logiflow import roles
from logiflow.app import app
from logiflow.domain import dlq
from logiflow.kafka.groups import Group
from logiflow.web import panels
from logiflow.web.http import Json, held, json_endpoint, me, owns, query, worker_info
from logiflow.web.owners import HOP_HEADER, partition_for_key
from logiflow.web.system import role_view, source_partitions, sum_shares
from logiflow.web.worker import system
from tables.dead_letters import dlq_entries
from tables.trucks import truck_invoices, truck_routes

SHARE_TIMEOUT_S = 3.0
ROUTING_FIELDS = ("trucks", "routes", "km")
INVOICING_FIELDS = ("trucks", "invoices", "revenue", "currency")


def my_partitions(table: Any) -> list[int]:
    topic = table.changelog_topic.get_topic_name()
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)


def per_partition(table: Any, fields: Iterable[str], routes: bool) -> dict[str, Json]:
    """This worker's totals of ``table``, one entry per partition it holds actively."""
    n, currency = app.deps.settings.partitions, app.deps.settings.currency
    by_partition: dict[int, list[Json]] = {p: [] for p in my_partitions(table)}
    for key, value in table.items():
        p = partition_for_key(str(key).encode(), n)
        if p in by_partition:
            by_partition[p].append(value)
    out = {}
    for p, values in by_partition.items():
        totals = panels.totals(values, [], currency) if routes else panels.totals([], values, currency)
        out[str(p)] = {f: totals[f] for f in fields}
    return out


def local_shares() -> Json:
    """What this worker's tables hold, per role and partition."""
    shares: Json = {}
    if held(truck_routes):
        shares[roles.ROUTING] = per_partition(truck_routes, ROUTING_FIELDS, routes=True)
    if held(truck_invoices):
        shares[roles.INVOICING] = per_partition(truck_invoices, INVOICING_FIELDS, routes=False)
    if owns(dlq_entries, 0):
        summary = dlq.summary(dlq_entries.values(), int(time.time() * 1000))
        shares[roles.DLQ] = {"0": {"entries": sum(summary["statuses"].values()),
                                   "depth": summary["depth"]}}
    return shares


def local_answer() -> Json:
    return {"worker": worker_info(), "shares": local_shares(),
            "rebalancing": bool(app.rebalancing), "recovering": bool(app.in_recovery)}


@app.page("/api/local/shares")
@json_endpoint
async def shares(self: View, request: Request) -> Json:
    query(request)
    return local_answer()


async def answer_of(url: str) -> Json | None:
    """A worker's shares and state (this worker's without HTTP); None if it does not answer."""
    if url == me():
        return local_answer()
    try:
        async with app.http_client.get(
                URL(url).origin().with_path("/api/local/shares"),
                headers={HOP_HEADER: me(), "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=SHARE_TIMEOUT_S)) as resp:
            if resp.status != 200:
                return None
            body = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    ok = isinstance(body, dict) and isinstance(body.get("shares"), dict)
    return body if ok else None


@app.page("/api/system")
@json_endpoint
async def system_view(self: View, request: Request) -> Json:
    query(request)
    settings = app.deps.settings
    groups = await system.groups()
    urls = sorted({m.url for g in groups.values() for m in g.members})
    answers = dict(zip(urls, await asyncio.gather(*(answer_of(u) for u in urls)), strict=True))
    out: dict[str, Json] = {}
    for role in roles.ROLES:
        group_id = system.group_of[role]
        group = groups.get(group_id) or Group(group_id, "Dead")
        view = role_view(settings, role, group, system.rates.get(group_id))
        found = [a["shares"].get(role, {}) for m in group.members if (a := answers.get(m.url))]
        view.update(sum_shares(found, source_partitions(settings, role)))
        view["unreachable"] = [m.url for m in group.members if answers.get(m.url) is None]
        for w in view["workers"]:  # each worker's own word on a rebalance or a table recovery
            a = answers.get(w["url"]) or {}
            w["rebalancing"], w["recovering"] = a.get("rebalancing"), a.get("recovering")
        view["recovering"] = any(w["recovering"] for w in view["workers"])
        out[role] = view
    routing, invoicing = out[roles.ROUTING]["totals"], out[roles.INVOICING]["totals"]
    return {
        "generatedAt": int(time.time() * 1000),
        "worker": worker_info(),
        "roles": out,
        "totals": {"trucks": max(routing.get("trucks", 0), invoicing.get("trucks", 0)),
                   "routes": routing.get("routes", 0), "km": routing.get("km", 0.0),
                   "invoices": invoicing.get("invoices", 0),
                   "revenue": invoicing.get("revenue", "0.00"),
                   "currency": settings.currency,
                   "dlqDepth": out[roles.DLQ]["totals"].get("depth", 0),
                   "lagTotal": sum(v["lagTotal"] for v in out.values())},
    }
