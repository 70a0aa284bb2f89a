"""Memory of an invoicing worker and its renderers over a long drain.

``python -m bench.rss`` (``make bench-rss``): one invoicing worker (``make run``'s defaults:
renderer processes recycled after ``LOGIFLOW_RENDER_RECYCLE_AFTER`` renders) drains
``--invoices`` pre-filled route events on the local broker; the resident set size of the worker
and of every process under it (fork server, renderers) is read from /proc when it starts
invoicing, after 10,000 invoices and at the end. Prints the figures and writes
``bench/results/rss.json`` and ``rss.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kafka_io import Kafka
from bench.payloads import route_events, route_requests
from bench.services import Run, publish


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in kB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def snapshot(pid: int, invoiced: int) -> dict[str, Any]:
    pids = tree(pid)
    worker, others = rss_kb(pid), sum(rss_kb(p) for p in pids if p != pid)
    return {"invoiced": invoiced, "workerMB": round(worker / 1024, 1),
            "childrenMB": round(others / 1024, 1), "totalMB": round((worker + others) / 1024, 1),
            "processes": len(pids)}


async def main(opts: argparse.Namespace) -> dict[str, Any]:
    from bench.run import bench_broker
    from logiflow.bootstrap import routing_params_from
    from logiflow.domain.geo import Gazetteer
    from logiflow.settings import Settings

    broker, _local = bench_broker()
    gazetteer = Gazetteer.load()
    events = route_events(route_requests(opts.invoices, 40, gazetteer, seed=13), gazetteer,
                          routing_params_from(Settings.from_env({})))
    kafka = Kafka(broker)
    await kafka.start()
    root = Path(tempfile.mkdtemp(prefix="logiflow-rss-"))
    run = Run(kafka, root, "rss", broker, {})
    try:
        await run.prepare([], events)
        await run.start("invoicing", "")
        worker = run.workers[0]
        assert worker.proc is not None
        pid = worker.proc.pid
        topic = run.topic("invoice.events")
        await kafka.wait_count(topic, 1, 120, "invoicing under way")
        samples = [snapshot(pid, await kafka.count(topic))]
        for mark in sorted({min(10_000, opts.invoices), opts.invoices}):
            await kafka.wait_count(topic, mark, 3600, f"{mark} invoices")
            samples.append(snapshot(pid, await kafka.count(topic)))
    finally:
        await run.stop()
        await kafka.stop()
    first, last = samples[0], samples[-1]
    return {"measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "invoices": opts.invoices, "samples": samples,
            "growthMB": round(last["totalMB"] - first["totalMB"], 1),
            "workerGrowthMB": round(last["workerMB"] - first["workerMB"], 1)}


def render_text(r: dict[str, Any]) -> str:
    lines = [f"rss bench {r['measuredAt']}: one invoicing worker draining {r['invoices']} route events"]
    for s in r["samples"]:
        lines.append(f"  after {s['invoiced']:>7} invoices: worker {s['workerMB']} MB + "
                     f"{s['processes'] - 1} processes under it {s['childrenMB']} MB = {s['totalMB']} MB")
    lines.append(f"growth: {r['growthMB']} MB in all, worker {r['workerGrowthMB']} MB")
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    opts = parser.parse_args()
    result = asyncio.run(main(opts))
    publish("rss", result, render_text(result))


if __name__ == "__main__":
    cli()
