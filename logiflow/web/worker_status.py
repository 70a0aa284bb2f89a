"""What this worker is doing, as the overview, health and metrics handlers show it.

:class:`WorkerStatus` reads the app's assignor, consumer and monitor (committed offsets through
:func:`logiflow.processing.faust_compat.committed_offsets`, the one place that knows where Faust
keeps them) and asks the broker itself. Its caches live on the instance; the web makes one per
app (:mod:`logiflow.web.worker`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from faust.exceptions import NotReady

from logiflow.app import LogiflowApp
from logiflow.kafka import security
from logiflow.processing import faust_compat
from logiflow.web import panels

log = logging.getLogger(__name__)

Json = dict[str, Any]

KAFKA_TIMEOUT_S = 3.0
HIGHWATERS_TIMEOUT_S = 10.0
BROKER_CHECK_TTL_S = 2.0


def _by_topic(tps: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for tp in tps:
        out.setdefault(tp.topic, []).append(tp.partition)
    return {t: sorted(p) for t, p in sorted(out.items())}


class WorkerStatus:
    """Assignment, offsets, lag, rebalancing and broker reachability of one app's worker."""

    def __init__(self, app: LogiflowApp) -> None:
        self.app = app
        # Highwaters asked of the broker in the background (:meth:`refresh_highwaters`): a
        # request through Faust's consumer thread waits for its current fetch (up to ~1.5 s),
        # too slow for a page that polls every 2 s. Fetch responses also carry highwaters (the
        # monitor keeps them), but not for paused partitions, which is exactly when lag matters
        # (breaker open); the refresh covers those.
        self.highwaters: dict[Any, int] = {}
        self._broker_check: tuple[float, Json] | None = None

    @property
    def url(self) -> str:
        return str(self.app.conf.canonical_url)

    @property
    def rebalancing(self) -> bool:
        return bool(self.app.rebalancing)

    def assigned(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """(active, standby) partitions of this worker, by topic."""
        assignor = self.app.assignor
        return _by_topic(assignor.assigned_actives()), _by_topic(assignor.assigned_standbys())

    def coverage(self, table: Any) -> Json:
        """Which worker(s) local totals over ``table`` cover: this worker's share of it."""
        topic = table.changelog_topic.get_topic_name()
        others = [{"url": url, "partitions": sorted(topics.get(topic, []))}
                  for url, topics in sorted(self.app.router.table_metadata(table.name).items())]
        mine = next((o["partitions"] for o in others if o["url"] == self.url), None)
        if mine is None:
            actives, _ = self.assigned()
            mine = actives.get(topic, [])
        return {"workers": [self.url], "tablePartitions": mine,
                "partitionsTotal": self.app.deps.settings.partitions, "allWorkers": others}

    def source_tps(self) -> list[Any]:
        """The assigned partitions of the topics the agents consume, in order."""
        topics = self.app.app_topics
        names = {t.get_topic_name() for t in (topics.route_requests, topics.routing_events,
                                              topics.dlq)}
        try:
            tps = [tp for tp in self.app.consumer.assignment() if tp.topic in names]
        except NotReady:
            return []
        return sorted(tps, key=lambda tp: (tp.topic, tp.partition))

    async def refresh_highwaters(self) -> None:
        """Ask the broker for the highwaters of the source partitions (run on a timer)."""
        tps = self.source_tps()
        if not tps:
            return
        try:
            fresh = await asyncio.wait_for(self.app.consumer.highwaters(*tps), HIGHWATERS_TIMEOUT_S)
        except (KafkaError, TimeoutError, NotReady) as exc:
            log.debug("web: highwaters unavailable: %r", exc)
            return
        self.highwaters.update(fresh)

    def consumer_lag(self) -> list[Json]:
        """Lag per assigned source partition: highwater minus the next offset to read."""
        monitor = self.app.monitor
        ends = monitor.tp_end_offsets
        # Committed offsets: the monitor sees our commits; offsets committed before this worker
        # started are only in the consumer's own map (read on assignment).
        committed = {**faust_compat.committed_offsets(self.app), **monitor.tp_committed_offsets}
        read = monitor.tp_read_offsets
        rows = []
        for tp in self.source_tps():
            known = [v for v in (self.highwaters.get(tp), ends.get(tp)) if v is not None]
            rows.append(panels.lag_row(tp.topic, tp.partition, max(known) if known else None,
                                       committed.get(tp), read.get(tp)))
        return rows

    async def broker_status(self) -> Json:
        """A metadata request to the bootstrap servers (cached for a couple of seconds)."""
        if self._broker_check is not None and \
                time.monotonic() - self._broker_check[0] < BROKER_CHECK_TTL_S:
            return self._broker_check[1]
        servers = self.app.deps.settings.bootstrap_servers
        client = AIOKafkaClient(bootstrap_servers=servers,
                                request_timeout_ms=int(KAFKA_TIMEOUT_S * 1000),
                                **security.client_kwargs(self.app.deps.settings))
        status: Json = {"bootstrapServers": servers}
        try:
            await asyncio.wait_for(client.bootstrap(), KAFKA_TIMEOUT_S)
            status.update(reachable=True, brokers=len(client.cluster.brokers()), error=None)
        except (KafkaError, OSError, TimeoutError) as exc:
            status.update(reachable=False, brokers=0, error=f"{type(exc).__name__}: {exc}"[:200])
        finally:
            await client.close()
        self._broker_check = (time.monotonic(), status)
        return status
