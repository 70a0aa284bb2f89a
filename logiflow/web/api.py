"""The JSON API behind every panel of the stats page, and ``/metrics``.

Handlers are thin: parse the request (:mod:`logiflow.web.params`), read this worker's tables,
metrics and consumer, shape the answer (:mod:`logiflow.web.panels`). Per-truck and DLQ-index
reads are answered by the worker that owns the partition (:mod:`logiflow.web.owners`); replay
and discard reuse :mod:`logiflow.dlq_ops`, exactly what ``logiflow dlq replay/discard`` do, and
need the bearer token from ``LOGIFLOW_API_TOKEN`` (none set: read-only, 403).

Every error is JSON ``{"error": ..., "status": ...}``; a bad parameter is a 400, never a 500.
Field names are documented in ``docs/web-api.md``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import aiohttp
from aiokafka.errors import KafkaError
from faust.exceptions import NotReady
from faust.web import Request, Response, View
from yarl import URL

from logiflow import __version__
from logiflow.app import app
from logiflow.domain import dlq
from logiflow.domain.trucks import truck_view
from logiflow.processing import faust_compat
from logiflow.web import panels, params, prom
from logiflow.web.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    ReadOnly,
    Unauthorized,
    Unavailable,
)
from logiflow.web.owners import HOP_HEADER, decide, partition_for_key
from tables.dead_letters import dlq_entries
from tables.trucks import invoices_issued, truck_invoices, truck_routes

log = logging.getLogger(__name__)

Json = dict[str, Any]
Handler = Callable[..., Awaitable[Any]]

API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
AGENTS = ("calculate_routes", "generate_invoices")
STARTED = time.time()
KAFKA_TIMEOUT_S = 3.0
FORWARD_TIMEOUT_S = 5.0
HIGHWATER_INTERVAL_S = 2.0


# --- plumbing ------------------------------------------------------------------------------

def json_response(view: View, body: Any, status: int = 200, **headers: str) -> Response:
    return view.json(body, status=status, headers={**API_HEADERS, **headers})


def json_endpoint(fun: Handler) -> Handler:
    """Turns a handler's dict into a JSON response and every error into a JSON error."""

    @wraps(fun)
    async def handler(view: View, request: Request, **kwargs: Any) -> Response:
        try:
            result = await fun(view, request, **kwargs)
        except ApiError as exc:
            extra = {"WWW-Authenticate": 'Bearer realm="logiflow"'} if exc.status == 401 else {}
            if exc.status == 503:
                extra["Retry-After"] = "1"
            return json_response(view, exc.body(), exc.status, **extra)
        except (KafkaError, TimeoutError) as exc:
            log.warning("web: %s %s: Kafka unavailable: %r", request.method, request.rel_url.path, exc)
            return json_response(view, {"error": f"Kafka unavailable: {type(exc).__name__}",
                                        "status": 503}, 503, **{"Retry-After": "1"})
        except Exception:
            log.exception("web: %s %s failed", request.method, request.rel_url.path)
            return json_response(view, {"error": "internal error (see the worker log)",
                                        "status": 500}, 500)
        if isinstance(result, dict | list):
            return json_response(view, result)
        return result

    return handler


def query(request: Request, *allowed: str) -> params.Params:
    return params.Params.parse(request.rel_url.query.items(), allowed)


def me() -> str:
    return str(app.conf.canonical_url)


def worker_info() -> Json:
    return {"workerId": me(), "appId": app.conf.id, "url": me(), "pid": os.getpid(),
            "version": __version__}


def read_only() -> bool:
    return not app.deps.settings.api_token


def require_token(request: Request) -> None:
    token = app.deps.settings.api_token
    if not token:
        raise ReadOnly("read-only: no LOGIFLOW_API_TOKEN is set on this worker, so replay and "
                       "discard are disabled", readOnly=True)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("missing or wrong bearer token")


async def answer_from_owner(view: View, request: Request, table: Any, partition: int,
                            local: Callable[[], Awaitable[Any]]) -> Any:
    """Answer locally if this worker owns ``table``'s ``partition``, else forward to the owner."""
    topic = table.changelog_topic.get_topic_name()
    decision = decide(app.router.table_metadata(table.name), topic, partition, me(),
                      request.headers.get(HOP_HEADER))
    if decision.action == "local":
        result = await local()
        if isinstance(result, dict):
            result = {**result, "servedBy": decision.url or me()}
        return result
    if decision.action == "unavailable" or decision.url is None:
        raise Unavailable(decision.reason, partition=partition)
    target = URL(str(URL(decision.url).origin()) + request.rel_url.raw_path_qs, encoded=True)
    try:
        async with app.http_client.get(
                target, headers={HOP_HEADER: me(), "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)) as resp:
            body = await resp.read()
            return view.bytes(body, content_type=resp.content_type, status=resp.status,
                              headers=dict(API_HEADERS))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable(f"the owner {decision.url} did not answer: {type(exc).__name__}",
                          partition=partition, owner=decision.url) from exc


# --- what the panels read ------------------------------------------------------------------

def assigned() -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """(active, standby) partitions of this worker, by topic."""
    def group(tps: Any) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for tp in tps:
            out.setdefault(tp.topic, []).append(tp.partition)
        return {t: sorted(p) for t, p in sorted(out.items())}

    return group(app.assignor.assigned_actives()), group(app.assignor.assigned_standbys())


def coverage() -> Json:
    """Which worker(s) the local totals cover: this worker's share of the truck tables."""
    topic = truck_routes.changelog_topic.get_topic_name()
    others = [{"url": url, "partitions": sorted(topics.get(topic, []))}
              for url, topics in sorted(app.router.table_metadata(truck_routes.name).items())]
    mine = next((o["partitions"] for o in others if o["url"] == me()), None)
    if mine is None:
        actives, _ = assigned()
        mine = actives.get(topic, [])
    return {"workers": [me()], "tablePartitions": mine,
            "partitionsTotal": app.deps.settings.partitions, "allWorkers": others}


def breakers() -> list[Json]:
    return [b.snapshot() for b in app.deps.breakers]


def source_topics() -> set[str]:
    return {t.get_topic_name() for t in (app.app_topics.route_requests, app.app_topics.routing_events,
                                         app.app_topics.dlq)}


def assigned_source_tps() -> list[Any]:
    try:
        tps = [tp for tp in app.consumer.assignment() if tp.topic in source_topics()]
    except NotReady:
        return []
    return sorted(tps, key=lambda tp: (tp.topic, tp.partition))


# Highwaters asked of the broker in the background: a request through Faust's consumer thread
# waits for its current fetch (up to ~1.5 s), too slow for a page that polls every 2 s. Fetch
# responses also carry highwaters (the monitor keeps them), but not for paused partitions,
# which is exactly when lag matters (breaker open); the timer covers those.
_highwaters: dict[Any, int] = {}


@app.timer(HIGHWATER_INTERVAL_S)
async def refresh_highwaters() -> None:
    tps = assigned_source_tps()
    if not tps:
        return
    try:
        _highwaters.update(await asyncio.wait_for(app.consumer.highwaters(*tps), 10.0))
    except (KafkaError, TimeoutError, NotReady) as exc:
        log.debug("web: highwaters unavailable: %r", exc)


async def consumer_lag() -> list[Json]:
    """Lag per assigned source partition: highwater minus the next offset to read."""
    ends = app.monitor.tp_end_offsets
    # Committed offsets: the monitor sees our commits; offsets committed before this worker
    # started are only in the consumer's own map (read on assignment).
    committed = {**faust_compat.committed_offsets(app), **app.monitor.tp_committed_offsets}
    read = app.monitor.tp_read_offsets
    rows = []
    for tp in assigned_source_tps():
        known = [v for v in (_highwaters.get(tp), ends.get(tp)) if v is not None]
        rows.append(panels.lag_row(tp.topic, tp.partition, max(known) if known else None,
                                   committed.get(tp), read.get(tp)))
    return rows


def dlq_index_partition_is_local() -> bool:
    topic = dlq_entries.changelog_topic.get_topic_name()
    return decide(app.router.table_metadata(dlq_entries.name), topic, 0, me(), None).action == "local"


_broker_check: tuple[float, Json] | None = None


async def broker_status() -> Json:
    """A metadata request to the bootstrap servers (cached for 2 s)."""
    global _broker_check
    from aiokafka import AIOKafkaClient

    from logiflow.kafka import security

    if _broker_check is not None and time.monotonic() - _broker_check[0] < 2.0:
        return _broker_check[1]
    client = AIOKafkaClient(bootstrap_servers=app.deps.settings.bootstrap_servers,
                            request_timeout_ms=int(KAFKA_TIMEOUT_S * 1000),
                            **security.client_kwargs(app.deps.settings))
    status: Json = {"bootstrapServers": app.deps.settings.bootstrap_servers}
    try:
        await asyncio.wait_for(client.bootstrap(), KAFKA_TIMEOUT_S)
        status.update(reachable=True, brokers=len(client.cluster.brokers()), error=None)
    except (KafkaError, OSError, TimeoutError) as exc:
        status.update(reachable=False, brokers=0, error=f"{type(exc).__name__}: {exc}"[:200])
    finally:
        await client.close()
    _broker_check = (time.monotonic(), status)
    return status


def kafka_version() -> str | None:
    from logiflow.errors import BrokerError
    from logiflow.kafka.local_broker import kafka_version as pinned

    try:
        return pinned()
    except (BrokerError, OSError):
        return None


# --- overview, trucks, invoices ------------------------------------------------------------

@app.page("/api/overview")
@json_endpoint
async def overview(self: View, request: Request) -> Json:
    p = query(request, "window")
    window = p.integer("window", 120, 10, 600)
    metrics = app.deps.metrics
    now_s = int(metrics.clock())
    lag = await consumer_lag()
    snapshot = metrics.snapshot()
    return {
        "generatedAt": int(time.time() * 1000),
        "worker": worker_info(),
        "covers": coverage(),
        "readOnly": read_only(),
        "totals": panels.totals(truck_routes.values(), truck_invoices.values(),
                                app.deps.settings.currency),
        "processed": {a: metrics.processed.get(a, 0) for a in AGENTS} | snapshot["processed"],
        "deadLettered": snapshot["deadLettered"],
        "retries": snapshot["retries"],
        "duplicatesSkipped": snapshot["duplicatesSkipped"],
        "rates": panels.rate_series(metrics.rates(window), AGENTS, window, now_s),
        "latency": panels.latency_summary(snapshot["latency"], metrics.last_latency_s),
        "lag": lag,
        "lagTotal": sum(r["lag"] or 0 for r in lag),
        "breakers": breakers(),
        "renderer": panels.renderer_view(app.deps.renderer.stats()),
    }


@app.page("/api/trucks")
@json_endpoint
async def trucks(self: View, request: Request) -> Json:
    p = query(request, "q", "limit")
    q, limit = p.text("q"), p.integer("limit", 100, 1, 1000)
    rows, matched = panels.search_trucks(dict(truck_routes.items()), dict(truck_invoices.items()),
                                         q, limit)
    return {"q": q or "", "matched": matched, "trucks": rows, "covers": coverage()}


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
        view = truck_view(routes, invoices)
        view["truckId"] = view["truckId"] or truck_id
        for inv in view["recentInvoices"]:
            inv["downloadUrl"] = panels.download_url(str(inv.get("invoiceId")))
        return {**view, "partition": partition}

    return await answer_from_owner(self, request, truck_routes, partition, local)


@app.page("/api/invoices/recent")
@json_endpoint
async def recent_invoices(self: View, request: Request) -> Json:
    limit = query(request, "limit").integer("limit", 20, 1, 500)
    return {"invoices": panels.recent_invoices(invoices_issued.items(), limit),
            "covers": coverage()}


# --- dead-letter queue ---------------------------------------------------------------------

def dlq_index_local(view: View, request: Request, local: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
    return answer_from_owner(view, request, dlq_entries, 0, local)


@app.page("/api/dlq/summary")
@json_endpoint
async def dlq_summary(self: View, request: Request) -> Any:
    query(request)

    async def local() -> Json:
        return dlq.summary(dlq_entries.values(), int(time.time() * 1000))

    return await dlq_index_local(self, request, local)


@app.page("/api/dlq")
@json_endpoint
async def dlq_list(self: View, request: Request) -> Any:
    f = params.dlq_filter(request.rel_url.query.items())

    async def local() -> Json:
        found = dlq.select(dlq_entries.values(), f.query)
        return {"matched": len(found), "entries": [panels.dlq_item(e) for e in found[:f.limit]],
                "readOnly": read_only()}

    return await dlq_index_local(self, request, local)


@app.page("/api/dlq/{entry_id}")
@json_endpoint
async def dlq_entry(self: View, request: Request, entry_id: str) -> Any:
    entry_id = params.dlq_entry_id(entry_id)
    query(request)

    async def local() -> Json:
        entry = dlq_entries.get(entry_id)
        if entry is None:
            raise NotFound("no such DLQ entry", id=entry_id)
        return panels.dlq_detail(entry, can_act=not read_only())

    return await dlq_index_local(self, request, local)


async def request_json(request: Request) -> Json:
    raw = await request.read()
    if len(raw) > 16 * 1024:
        raise BadRequest("request body too large")
    if not raw.strip():
        return {}
    try:
        return params.json_object(json.loads(raw))
    except ValueError:
        raise BadRequest("the request body is not valid JSON") from None


async def indexed_entry(entry_id: str) -> tuple[Any, dlq.Entry]:
    """The DLQ index folded from Kafka (as the CLI does) and the entry in it."""
    from logiflow.dlq_ops import read_index

    index = await read_index(app.deps.settings, timeout_s=20.0)
    entry = index.entries.get(entry_id)
    if entry is None:
        raise NotFound("no such DLQ entry", id=entry_id)
    return index, entry


def operator() -> str:
    return f"web@{URL(me()).host}:{URL(me()).port}"


@app.page("/api/dlq/{entry_id}/replay")
class ReplayEntry(View):
    """POST: replay the entry to its source topic (``logiflow dlq replay --apply``)."""

    @json_endpoint
    async def post(self, request: Request, entry_id: str) -> Json:
        require_token(request)
        entry_id = params.dlq_entry_id(entry_id)
        query(request)
        await request_json(request)
        from logiflow.dlq_ops import DlqOperator

        index, entry = await indexed_entry(entry_id)
        async with DlqOperator(app.deps.settings, by=operator()) as op:
            [outcome] = await op.replay(index, [entry], apply=True)
        body = {"id": entry_id, "action": outcome.action, "detail": outcome.detail,
                "replayCount": entry.get("replayCount", 0) + (outcome.action == "replayed")}
        if outcome.action not in ("replayed", "parked"):
            raise Conflict(f"not replayed: {outcome.detail}", **body)
        return body


@app.page("/api/dlq/{entry_id}/discard")
class DiscardEntry(View):
    """POST ``{"reason": "..."}``: mark the entry discarded (``logiflow dlq discard``)."""

    @json_endpoint
    async def post(self, request: Request, entry_id: str) -> Json:
        require_token(request)
        entry_id = params.dlq_entry_id(entry_id)
        query(request)
        body = await request_json(request)
        reason = body.get("reason", "discarded from the web page")
        if not isinstance(reason, str) or not reason.strip():
            raise BadRequest("reason must be a non-empty string", parameter="reason")
        reason = params.check_text("reason", reason.strip(), 500)
        from logiflow.dlq_ops import DlqOperator

        _index, entry = await indexed_entry(entry_id)
        if entry.get("status") == "discarded":
            raise Conflict("already discarded", id=entry_id, action="skipped")
        async with DlqOperator(app.deps.settings, by=operator()) as op:
            await op.discard(entry, reason)
        return {"id": entry_id, "action": "discarded", "detail": reason}


# --- health and metrics --------------------------------------------------------------------

@app.page("/api/health")
@json_endpoint
async def health(self: View, request: Request) -> Json:
    query(request)
    actives, standbys = assigned()
    broker = await broker_status()
    stats = app.deps.renderer.stats()
    return {
        "status": "ok" if broker["reachable"] else "degraded",
        "broker": broker,
        "worker": worker_info(),
        "assignedPartitions": actives,
        "standbyPartitions": standbys,
        "rebalancing": bool(getattr(app, "rebalancing", False)),
        "version": __version__,
        "kafkaVersion": kafka_version(),
        "readOnly": read_only(),
        "renderer": {"workers": stats["workers"], "alive": stats["alive"]},
        "uptimeS": round(time.time() - STARTED, 1),
    }


@app.page("/metrics")
@json_endpoint
async def metrics_text(self: View, request: Request) -> Response:
    query(request)
    m = app.deps.metrics
    out = prom.Exposition()
    agents = sorted(set(AGENTS) | set(m.processed))
    out.counter("logiflow_events_processed", "Events an agent processed successfully.",
                [({"agent": a}, m.processed.get(a, 0)) for a in agents])
    failed = [({"agent": a, "kind": k}, n) for (a, k), n in sorted(m.dead_lettered.items())]
    out.counter("logiflow_events_failed", "Events an agent dead-lettered, by failure kind.",
                failed or [({"agent": a, "kind": "poison"}, 0) for a in AGENTS])
    out.counter("logiflow_retries", "Transient failures retried, per agent.",
                [({"agent": a}, m.retries.get(a, 0)) for a in agents])
    out.counter("logiflow_duplicates_skipped", "Redelivered events skipped as already done.",
                [({"agent": a}, m.duplicates.get(a, 0)) for a in agents])
    if dlq_index_partition_is_local():
        summary = dlq.summary(dlq_entries.values(), int(time.time() * 1000))
        out.gauge("logiflow_dlq_depth", "Open DLQ entries (new, replayed or parked).",
                  [(None, summary["depth"])])
        out.gauge("logiflow_dlq_entries", "DLQ entries by status.",
                  [({"status": s}, n) for s, n in summary["statuses"].items()])
    snaps = breakers()
    out.gauge("logiflow_breaker_open", "1 while an agent's circuit breaker is open.",
              [({"agent": b["name"]}, int(b["state"] == "open")) for b in snaps])
    out.counter("logiflow_breaker_opened", "Times an agent's circuit breaker opened.",
                [({"agent": b["name"]}, b["timesOpened"]) for b in snaps])
    rs = app.deps.renderer.stats()["render_seconds"]
    out.histogram("logiflow_render_seconds", "Time to render one invoice PDF.",
                  prom.cumulative_buckets(rs["buckets"], rs["counts"]), rs["sum"], rs["count"])
    lat = m.latency.snapshot()
    out.histogram("logiflow_end_to_end_latency_seconds",
                  "Route request timestamp to invoice published.",
                  prom.cumulative_buckets(lat["buckets"], lat["counts"]), lat["sum"], lat["count"])
    lag = await consumer_lag()
    out.gauge("logiflow_consumer_lag", "Messages not yet read, per assigned source partition.",
              [({"topic": r["topic"], "partition": str(r["partition"])}, r["lag"])
               for r in lag if r["lag"] is not None])
    out.gauge("logiflow_info", "This worker.",
              [({"version": __version__, "worker": me(), "app_id": str(app.conf.id)}, 1)])
    return self.bytes(out.render().encode(), headers={**API_HEADERS, "Content-Type": prom.CONTENT_TYPE})
