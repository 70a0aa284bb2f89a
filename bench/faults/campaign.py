"""One fault campaign: traffic, the scheduled faults, the drain, and the final accounting.

1. Topics are created; ``prefill`` requests are produced (a backlog from the first second);
   the output monitor and the first worker start; the producer sends ``rate`` requests/s.
2. Each step of the schedule: wait its gap; send a burst of requests (the backlog: unprocessed
   requests + routes at the fault are noted, and flagged below ``min_backlog``); after the lead
   time, inject the fault (and the restart after the downtime); wait until every partition of
   both outputs has a record produced after the fault (the recovery). A worker that exits on
   its own meanwhile is noted and restarted, as a supervisor would.
3. The producer stops; the workers drain until the consumer group has committed the end of
   ``routing.requests`` and ``routing.events``; they are stopped gracefully (changelogs flushed).
4. Every topic is read from the beginning and accounted (:mod:`bench.faults.accounting`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.faults import recovery
from bench.faults.accounting import Inputs, account
from bench.faults.brokers import Brokers
from bench.faults.fleet import Fleet
from bench.faults.plan import Plan, Step
from bench.faults.traffic import INVOICES, ROUTES, OutputMonitor, RequestProducer, now_ms, requests
from logiflow import topics
from logiflow.domain.geo import Gazetteer
from logiflow.kafka.admin import TopicSpec, ensure_topics, read_to_end
from logiflow.settings import Settings
from tests.support.harness import Record, isolated_env

log = logging.getLogger("bench.faults")
DRAIN_SETTLE_S = 5.0
DRAIN_IDLE_S = 60.0
LOG_PROBLEMS = ("Traceback", "Agent crashed", "unexpected failure", "dead-lettering")
# aiokafka logs every refused connection and metadata retry as an ERROR while a broker is down.
CONNECTION_NOISE = ("Unable connect to node", "Unable to update metadata", "NodeNotReadyError",
                    "KafkaConnectionError", "GroupCoordinatorNotAvailable", "Connect call failed")


@dataclass
class FaultRecord:
    step: Step
    fault_ms: float = 0.0
    done_ms: float = 0.0
    restart_ms: float | None = None
    back_ms: float | None = None
    backlog_requests: int = 0
    backlog_routes: int = 0
    recovered: bool = False
    notes: list[str] = field(default_factory=list)


class Campaign:
    def __init__(self, plan: Plan, seed: int, steps: list[Step], brokers: Brokers, root: Path,
                 logs: Path, overrides: dict[str, str] | None = None,
                 say: Callable[[str], None] = print) -> None:
        self.plan, self.seed, self.steps, self.brokers = plan, seed, steps, brokers
        self.root, self.logs, self.say = root, logs, say
        # Workers run with `make run`'s renderer default (one process per CPU), not the test
        # harness's single renderer: at the default plan's 100 requests/s one renderer on a
        # loaded machine fell behind and the campaign measured the backlog, not the faults.
        env = isolated_env(root, f"faults-{seed}", **{"LOGIFLOW_RENDER_WORKERS": "0", **(overrides or {})},
                           LOGIFLOW_BROKER="kafka://" + brokers.bootstrap.replace(",", ";"),
                           LOGIFLOW_PARTITIONS=plan.partitions,
                           LOGIFLOW_REPLICATION=brokers.replication)
        self.settings = Settings.from_env(env)
        self.topic = {name: self.settings.topic(name) for name in
                      (topics.ROUTE_REQUESTS, topics.ROUTING_EVENTS, topics.INVOICE_EVENTS)}
        self.dlq_topic = self.settings.topic(self.settings.dlq_topic)
        self.fleet = Fleet(root, env, logs)
        self.ops = asyncio.Lock()  # one lifecycle change at a time (faults, supervisor restarts)
        self.records: list[FaultRecord] = []
        self.supervised: list[dict[str, Any]] = []

    @property
    def app_id(self) -> str:
        return self.settings.app_id

    # --- the run ---------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        s, p = self.settings, self.plan
        await ensure_topics(s, [TopicSpec(self.topic[topics.ROUTE_REQUESTS], p.partitions),
                                TopicSpec(self.topic[topics.ROUTING_EVENTS], p.partitions),
                                TopicSpec(self.topic[topics.INVOICE_EVENTS], p.partitions),
                                TopicSpec(self.dlq_topic, 1)])
        source = requests(self.seed, p.trucks, p.poison_every, Gazetteer.load())
        self.producer = RequestProducer(self.brokers.bootstrap, self.topic[topics.ROUTE_REQUESTS],
                                        source, p.rate)
        self.monitor = OutputMonitor(self.brokers.bootstrap,
                                     {ROUTES: self.topic[topics.ROUTING_EVENTS],
                                      INVOICES: self.topic[topics.INVOICE_EVENTS]}, p.partitions)
        await self.producer.start()
        await self.monitor.start()
        supervisor: asyncio.Task[None] | None = None
        try:
            await self.producer.send(p.prefill)
            await self.producer.flush()
            self.say(f"pre-filled {p.prefill} requests; starting worker w1 (app id {self.app_id})")
            await asyncio.to_thread(self.fleet.start, "w1")
            self.traffic_began_ms = now_ms()
            traffic = asyncio.create_task(self.producer.run())
            supervisor = asyncio.create_task(self.supervise())
            for step in self.steps:
                await self.inject(step)
            self.traffic_ended_ms = now_ms()
            await self.producer.stop()
            await traffic
            self.say(f"traffic stopped after {(self.traffic_ended_ms - self.traffic_began_ms) / 1000:.0f} s; "
                     "draining")
            drain = await self.drain()
            supervisor.cancel()
            async with self.ops:
                stopped = await asyncio.to_thread(self.fleet.stop_all)
            self.say(f"workers stopped: {stopped}")
        finally:
            if supervisor is not None:
                supervisor.cancel()
            await self.monitor.stop()
            await asyncio.to_thread(self.fleet.kill_all)
        figures = account(await self.read_everything())
        return self.results(drain, stopped, figures)

    async def supervise(self) -> None:
        """Restart a worker that exited without being told to (and note it)."""
        while True:
            await asyncio.sleep(1.0)
            async with self.ops:
                for name in self.fleet.check():
                    code = self.fleet.members[name].unexpected_exits[-1]["code"]
                    self.say(f"  !! worker {name} exited on its own (code {code}); restarting it")
                    self.supervised.append({"worker": name, "atMs": now_ms(), "code": code})
                    try:
                        await asyncio.to_thread(self.fleet.start, name)
                    except RuntimeError as exc:
                        self.say(f"  !! {exc}")

    async def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    def backlog(self) -> tuple[int, int]:
        return self.monitor.backlog(self.producer.stats.acked_valid)

    async def inject(self, step: Step) -> None:
        rec = FaultRecord(step)
        self.records.append(rec)
        await asyncio.sleep(step.gap_s)
        # The burst makes the backlog: invoicing needs far longer than the lead time for it.
        await self.producer.send(step.burst)
        await asyncio.sleep(step.lead_ms / 1000)
        async with self.ops:
            rec.backlog_requests, rec.backlog_routes = self.backlog()
            if rec.backlog_requests + rec.backlog_routes < self.plan.min_backlog:
                rec.notes.append(f"backlog below {self.plan.min_backlog}")
            rec.fault_ms = now_ms()
            await self.perform(step, rec)
        partitions = self.producer.stats.partitions or set(range(self.plan.partitions))
        rec.recovered = await self.wait_until(lambda: self.monitor.resumed(rec.done_ms, partitions),
                                              self.plan.recovery_timeout_s)
        took = (now_ms() - rec.fault_ms) / 1000
        self.say(f"  {step.describe()}: backlog {rec.backlog_requests} requests + "
                 f"{rec.backlog_routes} routes; " + (f"processing again after {took:.1f} s"
                                                     if rec.recovered else
                                                     f"NOT processing again after {took:.0f} s"))

    async def perform(self, step: Step, rec: FaultRecord) -> None:
        fleet, brokers, w = self.fleet, self.brokers, step.worker or ""
        kind = step.kind
        if kind in ("worker-kill", "state-loss"):
            await asyncio.to_thread(fleet.kill, w)
            rec.done_ms = now_ms()
            if kind == "state-loss":
                await asyncio.to_thread(fleet.wipe_state, w)
        elif kind in ("worker-stop", "worker-leave"):
            code = await asyncio.to_thread(fleet.stop, w)
            rec.done_ms = now_ms()
            rec.notes.append(f"exit code {code} after {(rec.done_ms - rec.fault_ms) / 1000:.1f} s")
        elif kind == "worker-join":
            rec.done_ms = rec.fault_ms
        elif kind == "broker-restart":
            await asyncio.to_thread(brokers.stop_all)
            rec.done_ms = now_ms()
        elif kind == "broker-kill":
            await asyncio.to_thread(brokers.kill_node, step.node or 1)
            rec.done_ms = now_ms()
        else:
            raise ValueError(f"unknown fault kind {kind}")
        if kind == "worker-leave":
            return
        await asyncio.sleep(step.downtime_s)
        rec.restart_ms = now_ms()
        if kind == "broker-restart":
            await asyncio.to_thread(brokers.start_all)
            rec.back_ms = now_ms()
        elif kind == "broker-kill":
            await asyncio.to_thread(brokers.start_node, step.node or 1)
            rec.back_ms = now_ms()
        else:
            rec.back_ms = await asyncio.to_thread(fleet.start, w)

    async def drain(self) -> dict[str, Any]:
        """Until the group has committed the end of both inputs, steady for a few seconds."""
        began = time.monotonic()
        inputs = [self.topic[topics.ROUTE_REQUESTS], self.topic[topics.ROUTING_EVENTS]]
        tps = [TopicPartition(t, p) for t in inputs for p in range(self.plan.partitions)]
        admin = AIOKafkaAdminClient(bootstrap_servers=self.brokers.bootstrap)
        ends = AIOKafkaConsumer(bootstrap_servers=self.brokers.bootstrap, group_id=None)
        await admin.start()
        await ends.start()
        lag, settled_since, behind = -1, None, {}
        progress, idle_since = None, time.monotonic()
        try:
            while time.monotonic() - began < self.plan.drain_timeout_s:
                end = await ends.end_offsets(tps)
                committed = await admin.list_consumer_group_offsets(self.app_id, partitions=tps)
                # No commit yet reads as offset -1 (or is absent): nothing of that partition done.
                behind = {f"{tp.topic}[{tp.partition}]":
                          end[tp] - max(0, committed[tp].offset if tp in committed else 0) for tp in tps}
                lag = sum(behind.values())
                if lag == 0:
                    settled_since = settled_since or time.monotonic()
                    if time.monotonic() - settled_since >= DRAIN_SETTLE_S:
                        break
                else:
                    settled_since = None
                now = (len(self.monitor.seen), lag)
                if now != progress:
                    progress, idle_since = now, time.monotonic()
                elif time.monotonic() - idle_since > DRAIN_IDLE_S:
                    break  # neither outputs nor commits move: stuck, waiting longer shows nothing
                await asyncio.sleep(1.0)
        finally:
            await ends.stop()
            await admin.close()
        took = time.monotonic() - began
        self.say(f"drained in {took:.0f} s" if lag == 0 else f"NOT drained after {took:.0f} s: lag {lag}")
        return {"drained": lag == 0, "seconds": round(took, 1), "lagLeft": lag,
                "lagByPartition": {k: n for k, n in behind.items() if n}}

    # --- the accounting ----------------------------------------------------------------------
    async def read(self, topic: str) -> list[Record]:
        return [Record(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value or b"",
                       [(k, bytes(v)) for k, v in (m.headers or [])])
                for m in await read_to_end(self.brokers.bootstrap, topic, 300.0)]

    async def table(self, name: str) -> dict[str, Any]:
        latest: dict[str, Any] = {}
        for r in await self.read(f"{self.app_id}-{name}-changelog"):
            key = json.loads(r.key) if r.key else None
            if r.value:
                latest[key] = json.loads(r.value)
            else:
                latest.pop(key, None)
        return latest

    async def read_everything(self) -> Inputs:
        files = await asyncio.to_thread(_listing, Path(self.settings.invoice_dir))
        return Inputs(
            requests_topic=self.topic[topics.ROUTE_REQUESTS],
            routes_topic=self.topic[topics.ROUTING_EVENTS],
            requests=await self.read(self.topic[topics.ROUTE_REQUESTS]),
            routes=await self.read(self.topic[topics.ROUTING_EVENTS]),
            invoices=await self.read(self.topic[topics.INVOICE_EVENTS]),
            dlq=await self.read(self.dlq_topic),
            truck_routes=await self.table(topics.TRUCK_ROUTES),
            truck_invoices=await self.table(topics.TRUCK_INVOICES),
            issued=await self.table(topics.INVOICES_ISSUED),
            files=files)

    def fault_figures(self) -> list[dict[str, Any]]:
        notes = recovery.index(self.monitor.seen)
        partitions = sorted(self.producer.stats.partitions) or list(range(self.plan.partitions))
        out = []
        for n, rec in enumerate(self.records):
            end = self.records[n + 1].fault_ms if n + 1 < len(self.records) else self.traffic_ended_ms
            w = recovery.Window(rec.fault_ms, rec.done_ms, end, rec.back_ms)
            row: dict[str, Any] = {
                **{k: v for k, v in asdict(rec.step).items() if v is not None},
                "atS": round((rec.fault_ms - self.traffic_began_ms) / 1000, 1),
                "backlogRequests": rec.backlog_requests, "backlogRoutes": rec.backlog_routes,
                "actionS": round((rec.done_ms - rec.fault_ms) / 1000, 2),
                "restartReadyS": (None if rec.back_ms is None or rec.restart_ms is None
                                  else round((rec.back_ms - rec.restart_ms) / 1000, 1)),
                "recovered": rec.recovered, "notes": rec.notes,
            }
            for kind, label in ((ROUTES, "Routing"), (INVOICES, "Invoicing")):
                row[f"recovery{label}S"] = recovery.recovery_s(notes, kind, partitions, w)
                row[f"recovery{label}ByPartitionS"] = recovery.by_partition_s(notes, kind, partitions, w)
                row[f"stall{label}S"] = recovery.stall_s(notes, kind, partitions, w)
            out.append(row)
        return out

    def worker_logs(self) -> dict[str, dict[str, int]]:
        out = {}
        for name, m in self.fleet.members.items():
            text = m.worker.log_text()
            errors = [line for line in text.splitlines() if "[ERROR]" in line]
            noise = sum(1 for line in errors if any(n in line for n in CONNECTION_NOISE))
            out[name] = {**{k: text.count(k) for k in LOG_PROBLEMS},
                         "[ERROR] (not connection)": len(errors) - noise, "[ERROR] connection": noise}
        return out

    def results(self, drain: dict[str, Any], stopped: dict[str, int | None],
                figures: dict[str, Any]) -> dict[str, Any]:
        stats = self.producer.stats
        return {
            "seed": self.seed,
            "plan": asdict(self.plan),
            "appId": self.app_id,
            "broker": self.brokers.bootstrap,
            "trafficSeconds": round((self.traffic_ended_ms - self.traffic_began_ms) / 1000, 1),
            "producer": {"ackedValid": stats.acked_valid, "ackedPoison": stats.acked_poison,
                         "failed": stats.failed, "errors": stats.errors},
            "drain": drain,
            "faults": self.fault_figures(),
            "workers": {n: {"starts": m.worker.starts, "failedStarts": m.failed_starts,
                            "unexpectedExits": m.unexpected_exits, "stopCode": stopped.get(n),
                            "log": str(m.worker.log_path)}
                        for n, m in self.fleet.members.items()},
            "workerLogs": self.worker_logs(),
            "supervisorRestarts": self.supervised,
            "orphanProcesses": len(self.fleet.orphans),
            "figures": figures,
        }


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.is_dir() else []
