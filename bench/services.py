"""Services that never wait for each other: routing under an invoicing load, and drain rates.

``python -m bench.services`` (``make bench-services``) runs real role workers on the local broker
(``LOGIFLOW_BROKER`` / ``LOGIFLOW_KAFKA_PORT`` honoured), fresh topics for every measurement:

* **isolation**: routing requests/s of a routing worker working through ``--requests`` pre-filled
  requests, alone, then again while an invoicing worker (another process) drains a backlog of
  ``--invoices`` route events. Each side has CPUs of its own (``taskset``: routing on
  ``--routing-cpus``, invoicing and its renderers on ``--invoicing-cpus``), the same pinning in
  both measurements, so the ratio measures software coupling, not a shared CPU. The broker
  serves both sides; on a 2-core machine it has no CPU of its own, so the pair is measured
  three times: broker unpinned (the scheduler moves it onto routing's CPU when invoicing keeps
  the other busy), pinned with routing, and pinned with invoicing (``taskset -a -p`` on the
  local broker's process, restored afterwards; unpinned only for a broker that is not ours);
* **drain rate**: the same backlog drained by one invoicing worker, then by two, on
  ``--drain-cpus``, against the renderers alone on those CPUs (the canvas renderer in as many
  pinned processes as the workers have renderers, in the same run).

Rates are steady rates from the output records' timestamps (first to last). Prints the figures
and writes ``bench/results/services.json`` and ``services.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kafka_io import Kafka
from bench.payloads import route_events, route_requests

RESULTS = Path(__file__).resolve().parent / "results"


def _render_for(args: tuple[int, float]) -> float:
    """In a process pinned to CPU ``cpu``: canvas invoices per wall second over ``seconds``."""
    cpu, seconds = args
    os.sched_setaffinity(0, {cpu})
    from bench.renderer import bench_invoice, timed_run
    from logiflow.adapters.pdf import ReportlabInvoiceRenderer

    return timed_run(ReportlabInvoiceRenderer().render, bench_invoice(), seconds)["perWallS"]


def renderers_alone(cpus: list[int], seconds: float) -> float:
    """Invoices per second of one renderer process per CPU of ``cpus``, all at once."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(cpus)) as pool:
        return float(sum(pool.map(_render_for, [(c, seconds) for c in cpus])))


class Run:
    """Workers of one measurement: their own app id, topics and folders."""

    def __init__(self, kafka: Kafka, root: Path, name: str, broker: str,
                 settings: dict[str, str]) -> None:
        from tests.support.harness import isolated_env

        self.kafka, self.root, self.name = kafka, root / name, name
        self.env = isolated_env(self.root, name, LOGIFLOW_BROKER=f"kafka://{broker}",
                                LOGIFLOW_APP_ID=f"lf-bench-{name}-{os.getpid()}")
        for key in ("LOGIFLOW_RETRY_BASE_S", "LOGIFLOW_BREAKER_PROBE_S"):
            self.env.pop(key, None)  # production defaults
        self.env.update(settings)  # --set: a setting to compare against its default
        self.settings = settings
        self.workers: list[Any] = []

    def topic(self, name: str) -> str:
        return self.env["LOGIFLOW_TOPIC_PREFIX"] + name

    async def prepare(self, requests: list[Any], events: list[Any]) -> None:
        from logiflow.settings import Settings

        partitions = Settings.from_env(self.env).partitions
        await self.kafka.create_topics([self.topic(t) for t in ("routing.requests", "routing.events",
                                                                "invoice.events")], partitions)
        await self.kafka.produce(self.topic("routing.requests"), requests)
        await self.kafka.produce(self.topic("routing.events"), events)

    async def start(self, role: str, cpus: str, renderers: int = 0) -> None:
        from tests.support.harness import Worker, free_port

        env = {**self.env, "LOGIFLOW_ROLE": role, "LOGIFLOW_RENDER_WORKERS": str(renderers),
               "LOGIFLOW_WEB_PORT": str(free_port()),
               "LOGIFLOW_DATA_DIR": str(self.root / f"data-{len(self.workers)}"),
               **self.settings}  # --set LOGIFLOW_RENDER_WORKERS=N wins over the bench's choice
        worker = Worker(env, self.root / f"{role}-{len(self.workers)}.log", cpus=cpus)
        self.workers.append(worker)
        await asyncio.to_thread(worker.start, 180.0)

    async def stop(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in self.workers))


def local_broker_pid() -> int | None:
    """The pid of the broker ``logiflow kafka start`` runs (node 1), if it runs."""
    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.kafka.local_broker import LocalKafka
    from logiflow.kafka.processes import pid_of

    return pid_of(LocalKafka(LocalBrokerSettings.from_env()).node(1))


def pin(pid: int, cpus: str) -> None:
    """Every thread of ``pid`` onto ``cpus`` (taskset -a -p)."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True,
                   stdout=subprocess.DEVNULL)


async def isolation(kafka: Kafka, root: Path, broker: str, opts: argparse.Namespace,
                    requests: list[Any], events: list[Any], local: bool) -> dict[str, Any]:
    pid = local_broker_pid() if local else None
    everywhere = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    out: dict[str, Any] = {}
    placements = [("unpinned", everywhere)]
    if pid is not None:
        placements += [("onRoutingCpus", opts.routing_cpus), ("onInvoicingCpus", opts.invoicing_cpus)]
    try:
        for name, cpus in placements:
            if pid is not None:
                pin(pid, cpus)
            out[name] = {"brokerCpus": cpus if pid is not None else None,
                         **await isolation_pair(kafka, root, broker, opts, requests, events,
                                                f"{name}-")}
    finally:
        if pid is not None:
            pin(pid, everywhere)
    return out


async def isolation_pair(kafka: Kafka, root: Path, broker: str, opts: argparse.Namespace,
                         requests: list[Any], events: list[Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, backlog in (("alone", []), ("withInvoicing", events)):
        run = Run(kafka, root, f"iso-{prefix}{label}", broker, opts.settings)
        await run.prepare(requests, backlog)
        try:
            if backlog:
                await run.start("invoicing", opts.invoicing_cpus, renderers=1)
                await kafka.wait_count(run.topic("invoice.events"), 1, 120, "invoicing under way")
            before = await kafka.ends(run.topic("routing.events"))
            await run.start("routing", opts.routing_cpus)
            await kafka.wait_count(run.topic("routing.events"), len(backlog) + len(requests), 600,
                                   "every request routed")
            invoiced = await kafka.count(run.topic("invoice.events"))
            span = await kafka.span(run.topic("routing.events"), since=before)
        finally:
            await run.stop()
        out[label] = {"routedPerS": round(span.steady_rate), "routed": span.count,
                      "invoicedWhenRoutingDone": invoiced if backlog else None,
                      "invoicingStillDraining": bool(backlog) and invoiced < len(backlog)}
    out["ratio"] = round(out["withInvoicing"]["routedPerS"] / out["alone"]["routedPerS"], 3)
    return out


async def drain(kafka: Kafka, root: Path, broker: str, opts: argparse.Namespace,
                events: list[Any]) -> dict[str, Any]:
    cpus = [int(c) for c in opts.drain_cpus.split(",")]
    out: dict[str, Any] = {"cpus": opts.drain_cpus}
    out["renderersAlonePerS"] = round(await asyncio.to_thread(renderers_alone, cpus, 10.0))
    for workers in (1, 2):
        run = Run(kafka, root, f"drain-{workers}", broker, opts.settings)
        await run.prepare([], events)
        try:
            per_worker = max(1, len(cpus) // workers)
            await asyncio.gather(*(run.start("invoicing", opts.drain_cpus, renderers=per_worker)
                                   for _ in range(workers)))
            await kafka.wait_count(run.topic("invoice.events"), len(events), 900, "backlog drained")
            span = await kafka.span(run.topic("invoice.events"))
        finally:
            await run.stop()
        rate = span.steady_rate
        out[f"workers{workers}"] = {"invoicedPerS": round(rate), "invoices": span.count,
                                    "renderersPerWorker": per_worker,
                                    "ofRenderersAlone": round(rate / out["renderersAlonePerS"], 3)}
    return out


async def main(opts: argparse.Namespace) -> dict[str, Any]:
    from bench.run import bench_broker
    from logiflow.bootstrap import routing_params_from
    from logiflow.domain.geo import Gazetteer
    from logiflow.settings import Settings

    broker, local = bench_broker()
    gazetteer = Gazetteer.load()
    requests = route_requests(opts.requests, 40, gazetteer)
    events = route_events(route_requests(opts.invoices, 40, gazetteer, seed=11), gazetteer,
                          routing_params_from(Settings.from_env({})))
    kafka = Kafka(broker)
    await kafka.start()
    root = Path(tempfile.mkdtemp(prefix="logiflow-services-"))
    try:
        result = {"measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "requests": opts.requests, "invoices": opts.invoices,
                  "pinning": {"routing": opts.routing_cpus, "invoicing": opts.invoicing_cpus},
                  "settings": opts.settings}
        if opts.only in (None, "isolation"):
            result["isolation"] = await isolation(kafka, root, broker, opts, requests, events, local)
        if opts.only in (None, "drain"):
            result["drain"] = await drain(kafka, root, broker, opts, events)
        return result
    finally:
        await kafka.stop()


def render_text(r: dict[str, Any]) -> str:
    lines = [f"services bench {r['measuredAt']}: {r['requests']} requests, "
             f"{r['invoices']} route events"]
    for placement, i in r.get("isolation", {}).items():
        where = {"onRoutingCpus": "broker on routing's CPU", "onInvoicingCpus":
                 "broker on invoicing's CPU"}.get(placement, "broker unpinned")
        if i["brokerCpus"] is None:
            where = "a broker not ours, unpinned"
        lines.append(
            f"isolation (routing on CPU {r['pinning']['routing']}, invoicing on CPU "
            f"{r['pinning']['invoicing']}, {where}): routing alone {i['alone']['routedPerS']}/s, "
            f"with an invoicing worker draining {i['withInvoicing']['routedPerS']}/s = "
            f"{i['ratio']:.0%} (invoicing still draining: "
            f"{i['withInvoicing']['invoicingStillDraining']})")
    if "drain" in r:
        d = r["drain"]
        lines.append(
            f"drain on CPUs {d['cpus']}: renderers alone {d['renderersAlonePerS']}/s; one "
            f"invoicing worker {d['workers1']['invoicedPerS']}/s ({d['workers1']['ofRenderersAlone']:.0%}), "
            f"two {d['workers2']['invoicedPerS']}/s ({d['workers2']['ofRenderersAlone']:.0%})")
    return "\n".join(lines)


def cli() -> None:
    cpus = os.sched_getaffinity(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--routing-cpus", default=str(min(cpus)))
    parser.add_argument("--invoicing-cpus", default=str(max(cpus)))
    parser.add_argument("--only", choices=["isolation", "drain"], default=None)
    parser.add_argument("--set", action="append", default=[], metavar="LOGIFLOW_X=VALUE",
                        help="a worker setting to use instead of its default (repeatable)")
    parser.add_argument("--drain-cpus", default=",".join(str(c) for c in sorted(cpus)))
    opts = parser.parse_args()
    opts.settings = dict(item.split("=", 1) for item in opts.set)
    result = asyncio.run(main(opts))
    publish("services", result, render_text(result))


def publish(name: str, result: dict[str, Any], text: str) -> None:
    """Print ``text`` and write ``bench/results/<name>.json`` and ``<name>.txt``."""
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.txt").write_text(text + "\n")
    print(f"written: {RESULTS / f'{name}.json'}")


if __name__ == "__main__":
    cli()
