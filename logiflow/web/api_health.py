"""``GET /api/health`` (broker, partitions, versions) and ``GET /metrics`` (Prometheus text).

Fields and metric names: ``docs/web-api.md``.
"""

from __future__ import annotations

import sys
import time

from faust.web import Request, Response, View

from logiflow import __version__
from logiflow.app import app
from logiflow.domain import dlq
from logiflow.errors import BrokerError
from logiflow.kafka.local_broker import kafka_version as pinned_kafka_version
from logiflow.web import panels, prom
from logiflow.web.http import API_HEADERS, Json, json_endpoint, me, owns, query, read_only, worker_info
from logiflow.web.worker import status
from tables.dead_letters import dlq_entries

STARTED = time.time()


def kafka_version() -> str | None:
    """The Kafka version pinned for the local broker (``logiflow kafka start``), if readable."""
    try:
        return pinned_kafka_version()
    except (BrokerError, OSError):
        return None


@app.page("/api/health")
@json_endpoint
async def health(self: View, request: Request) -> Json:
    query(request)
    actives, standbys = status.assigned()
    broker = await status.broker_status()
    return {
        "status": "ok" if broker["reachable"] else "degraded",
        "broker": broker,
        "worker": worker_info(),
        "assignedPartitions": actives,
        "standbyPartitions": standbys,
        "rebalancing": status.rebalancing,
        "version": __version__,
        "kafkaVersion": kafka_version(),
        "readOnly": read_only(),
        "renderer": (panels.renderer_health(app.deps.renderer.stats()) if app.deps.invoicing
                     else {"workers": 0, "alive": 0}),  # this role starts no renderer
        # A worker that does not invoice must not load the PDF library (renderers import it).
        "reportlabLoaded": "reportlab" in sys.modules,
        "uptimeS": round(time.time() - STARTED, 1),
    }


@app.page("/metrics")
@json_endpoint
async def metrics_text(self: View, request: Request) -> Response:
    query(request)
    m = app.deps.metrics
    out = prom.Exposition()
    agents = sorted(set(panels.AGENTS) | set(m.processed))
    out.counter("logiflow_events_processed", "Events an agent processed successfully.",
                [({"agent": a}, m.processed.get(a, 0)) for a in agents])
    failed = [({"agent": a, "kind": k}, n) for (a, k), n in sorted(m.dead_lettered.items())]
    out.counter("logiflow_events_failed", "Events an agent dead-lettered, by failure kind.",
                failed or [({"agent": a, "kind": "poison"}, 0) for a in panels.AGENTS])
    out.counter("logiflow_retries", "Transient failures retried, per agent.",
                [({"agent": a}, m.retries.get(a, 0)) for a in agents])
    out.counter("logiflow_duplicates_skipped", "Redelivered events skipped as already done.",
                [({"agent": a}, m.duplicates.get(a, 0)) for a in agents])
    if owns(dlq_entries, 0):
        summary = dlq.summary(dlq_entries.values(), int(time.time() * 1000))
        out.gauge("logiflow_dlq_depth", "Open DLQ entries (new, replayed or parked).",
                  [(None, summary["depth"])])
        out.gauge("logiflow_dlq_entries", "DLQ entries by status.",
                  [({"status": s}, n) for s, n in summary["statuses"].items()])
    breakers = [b.snapshot() for b in app.deps.breakers]
    out.gauge("logiflow_breaker_open", "1 while an agent's circuit breaker is open.",
              [({"agent": b["name"]}, int(b["state"] == "open")) for b in breakers])
    out.counter("logiflow_breaker_opened", "Times an agent's circuit breaker opened.",
                [({"agent": b["name"]}, b["timesOpened"]) for b in breakers])
    out.histogram_of("logiflow_render_seconds", "Time to render one invoice PDF.",
                     app.deps.renderer.stats()["render_seconds"])
    out.histogram_of("logiflow_end_to_end_latency_seconds",
                     "Route request timestamp to invoice published.", m.latency.snapshot())
    out.gauge("logiflow_consumer_lag", "Messages not yet read, per assigned source partition.",
              [({"topic": r["topic"], "partition": str(r["partition"])}, r["lag"])
               for r in status.consumer_lag() if r["lag"] is not None])
    out.gauge("logiflow_info", "This worker.",
              [({"version": __version__, "worker": me(), "app_id": str(app.conf.id)}, 1)])
    return self.bytes(out.render().encode(), headers={**API_HEADERS, "Content-Type": prom.CONTENT_TYPE})
