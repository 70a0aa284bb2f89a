"""The baseline: a plain aiokafka consume → plan → produce loop, no Faust.

``python -m bench.raw_loop --source T --sink T2 --group G --count N`` consumes route requests
from ``T`` (consumer group ``G``, from the earliest offset), and for each record does what the
routing agent does, minus Faust (:class:`bench.work.RouteWork`, the work every contestant
shares): decode with ``decode_route_requested``, ``plan_route`` with the worker's gazetteer and
parameters, ``encode_route_calculated``, fold the route into a per-truck dict with
``apply_route``, and produce to ``T2`` keyed by truck id (not awaiting each ack, like the agent;
acks and linger as the worker's producer). With ``--changelog T3`` it also produces each
new truck state as JSON to ``T3``: the write a Faust table makes per update. Every
``--commit-interval`` seconds (Faust's default, 2.8 s) it waits for the outstanding acks, then
commits the consumed offsets: at-least-once, like the worker. It stops after ``N`` records and
prints one JSON line: ``readyMs`` (clients started and subscribed, the analogue of the worker's
"Ready"), ``processed``, ``rejected``, ``trucks`` and ``vmHwmKb``.

``--profile FILE`` runs the loop under cProfile and writes the stats to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.procinfo import cpu_s, vm_hwm_kb
from bench.work import PoisonMessage, RouteWork, Settings


async def run(source: str, sink: str, group: str, count: int, commit_interval: float,
              settings: Settings, changelog: str = "") -> dict[str, Any]:
    work = RouteWork.from_settings(settings)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=settings.bootstrap_servers,
                                group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    # The worker's producer settings: acks from every replica, the same linger.
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                linger_ms=settings.producer_linger_ms)
    await consumer.start()
    await producer.start()
    ready_ms = time.time() * 1000
    ready_cpu = cpu_s() or 0.0
    state: dict[bytes, dict[str, Any]] = {}  # by truck id (the record key)
    pending: list[asyncio.Future[Any]] = []
    processed = rejected = 0
    next_commit = time.monotonic() + commit_interval
    try:
        while processed + rejected < count:
            batches = await consumer.getmany(timeout_ms=500)
            for msgs in batches.values():
                for m in msgs:
                    try:
                        key, value, new = work(m.value or b"", m.key, m.timestamp, m.offset,
                                               state.get(m.key or b""))
                    except PoisonMessage:
                        rejected += 1
                        continue
                    pending.append(await producer.send(sink, value, key=key))
                    state[key] = new
                    if changelog:
                        pending.append(await producer.send(changelog, json.dumps(new).encode(),
                                                           key=key))
                    processed += 1
            if time.monotonic() >= next_commit:
                await _commit(consumer, pending)
                next_commit = time.monotonic() + commit_interval
        await _commit(consumer, pending)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"readyMs": ready_ms, "processed": processed, "rejected": rejected,
            "trucks": len(state), "vmHwmKb": vm_hwm_kb("self"), "cpuS": (cpu_s() or 0.0) - ready_cpu}


async def _commit(consumer: AIOKafkaConsumer, pending: list[asyncio.Future[Any]]) -> None:
    """Outputs acknowledged first, then the offsets: a crash duplicates, never loses."""
    await asyncio.gather(*pending)
    pending.clear()
    await consumer.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.raw_loop", description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--commit-interval", type=float, default=2.8)
    parser.add_argument("--changelog", default="", help="also write each truck state here")
    parser.add_argument("--profile", default="")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    coro = run(args.source, args.sink, args.group, args.count, args.commit_interval, settings,
               args.changelog)
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, coro)
        profiler.dump_stats(args.profile)
    else:
        result = asyncio.run(coro)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
