"""Per-event latency: request -> RouteCalculated and request -> InvoiceGenerated at steady rates.

``python -m bench.latency`` (``make bench-latency``) starts one worker with the production
defaults (``make run``'s settings, its own app id and topics), then for each rate (5, 50 and 100
requests/s by default, ``--seconds`` each, 30 by default) a plain aiokafka producer sends route
requests at that rate while a plain consumer reads ``routing.events`` and ``invoice.events``.
Each latency is this process's clock from the send of a request to the receipt of its event (one
clock: no skew). Prints p50/p95/p99/max per rate and whether anything fell behind (events still
missing 10 s after the last send), and writes ``bench/results/latency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

RESULTS = Path(__file__).resolve().parent / "results"
DRAIN_S = 10.0


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99),
            "max": round(ordered[-1] * 1000, 1), "mean": round(statistics.fmean(ordered) * 1000, 1),
            "n": len(ordered)}


async def one_rate(broker: str, prefix: str, rate: float, seconds: float, tag: str) -> dict[str, Any]:
    sent: dict[str, float] = {}
    routed: dict[str, float] = {}   # requestId -> receipt
    route_of: dict[str, str] = {}   # RouteCalculated eventId -> requestId
    invoiced: dict[str, float] = {}  # requestId -> receipt
    consumer = AIOKafkaConsumer(f"{prefix}routing.events", f"{prefix}invoice.events",
                                bootstrap_servers=broker, group_id=None, auto_offset_reset="latest",
                                enable_auto_commit=False, fetch_max_wait_ms=5)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=0)
    await producer.start()
    stop, all_in = asyncio.Event(), asyncio.Event()
    total = int(rate * seconds)

    async def read() -> None:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for messages in batch.values():
                for m in messages:
                    ev = json.loads(m.value)
                    if ev.get("type") == "RouteCalculated" and ev.get("requestId") in sent:
                        routed.setdefault(ev["requestId"], now)
                        route_of[ev["eventId"]] = ev["requestId"]
                    elif ev.get("type") == "InvoiceGenerated":
                        request = route_of.get(ev.get("routeEventId", ""))
                        if request is not None:
                            invoiced.setdefault(request, now)
                            if len(invoiced) >= total:
                                all_in.set()

    reader = asyncio.create_task(read())
    await asyncio.sleep(1.0)  # the consumer has its partitions at their end
    began = time.perf_counter()
    cities = ["Hamburg", "Munich", "Berlin", "Leipzig", "Cologne", "Frankfurt", "Stuttgart"]
    for i in range(total):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        truck = f"TR-{i % 40:03d}"
        request_id = f"{tag}-{i}"
        value = json.dumps({"type": "RouteRequested", "requestId": request_id, "truckId": truck,
                            "customerId": "C-1", "origin": cities[i % 7],
                            "destination": cities[(i + 3) % 7]}).encode()
        sent[request_id] = time.perf_counter()
        await producer.send(f"{prefix}routing.requests", value, key=truck.encode())
    try:
        await asyncio.wait_for(all_in.wait(), DRAIN_S)
    except TimeoutError:
        pass  # counted below as fallen behind
    stop.set()
    await reader
    await producer.stop()
    await consumer.stop()
    route_lat = [routed[r] - sent[r] for r in sent if r in routed]
    invoice_lat = [invoiced[r] - sent[r] for r in sent if r in invoiced]
    return {"ratePerS": rate, "seconds": seconds, "sent": total,
            "routeCalculated": percentiles(route_lat), "invoiceGenerated": percentiles(invoice_lat),
            "fellBehind": len(routed) < total or len(invoiced) < total}


async def main(opts: argparse.Namespace) -> dict[str, Any]:
    from bench.run import bench_broker
    from tests.support.harness import Worker, isolated_env

    broker, _local = bench_broker()
    root = Path(tempfile.mkdtemp(prefix="logiflow-latency-"))
    # make run's defaults: only what isolates this run (ids, folders, port) is set, and the
    # harness's single renderer is put back to the default (one per CPU).
    env = isolated_env(root, "latency", LOGIFLOW_BROKER=f"kafka://{broker}",
                       LOGIFLOW_RENDER_WORKERS="0")
    for name in ("LOGIFLOW_RETRY_BASE_S", "LOGIFLOW_BREAKER_PROBE_S"):
        env.pop(name, None)
    worker = Worker(env, root / "worker.log")
    await asyncio.to_thread(worker.start, 120.0)
    try:
        rows = []
        for rate in opts.rates:
            row = await one_rate(broker, env["LOGIFLOW_TOPIC_PREFIX"], rate, opts.seconds, f"r{rate:g}")
            rows.append(row)
            rc, ig = row["routeCalculated"], row["invoiceGenerated"]
            print(f"{rate:>5g}/s  RouteCalculated p50 {rc['p50']} p95 {rc['p95']} p99 {rc['p99']} "
                  f"max {rc['max']} ms | InvoiceGenerated p50 {ig['p50']} p95 {ig['p95']} "
                  f"p99 {ig['p99']} max {ig['max']} ms | fell behind: {row['fellBehind']}",
                  flush=True)
        return {"measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": opts.seconds, "rows": rows, "workerLog": str(worker.log_path)}
    finally:
        await asyncio.to_thread(worker.stop)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[5.0, 50.0, 100.0])
    parser.add_argument("--seconds", type=float, default=30.0)
    opts = parser.parse_args()
    result = asyncio.run(main(opts))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {RESULTS / 'latency.json'}")


if __name__ == "__main__":
    cli()
