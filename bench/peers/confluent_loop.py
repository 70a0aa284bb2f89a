"""Peer: a confluent-kafka (librdkafka) consume → plan → produce loop, the raw loop's twin.

``python -m bench.peers.confluent_loop --source T --sink T2 --group G --count N``, run by the
bench in the peers' venv (:mod:`bench.peers.venv`) with the run's ``LOGIFLOW_*`` environment.
Consumes route requests from ``T`` (group ``G``, from the earliest offset) in batches of
``--batch``; for each record does the work every contestant does (:class:`bench.work.RouteWork`:
decode, plan, encode, ``apply_route`` into a per-truck dict) and produces the RouteCalculated to
``T2`` keyed by truck id (murmur2, the Java/aiokafka partitioner). Producer: ``acks=all``,
``linger.ms`` = ``LOGIFLOW_PRODUCER_LINGER_MS`` (the bench sets one value for every contestant),
delivery reports only for failures. At-least-once, like the raw loop: no auto-commit; every
``--commit-interval`` seconds it flushes the producer (every output acknowledged), then commits
the consumed offsets synchronously. Stops after ``N`` records and prints one JSON line:
``readyMs`` (clients created and subscribed), ``doneMs`` (last outputs flushed, offsets
committed), ``processed``, ``rejected``, ``trucks``, ``vmHwmKb`` and ``client``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, __version__, libversion

from bench.procinfo import cpu_s, vm_hwm_kb
from bench.work import PoisonMessage, RouteWork, Settings, TruckRoutes


def run(source: str, sink: str, group: str, count: int, commit_interval: float, batch: int,
        settings: Settings) -> dict[str, Any]:
    work = RouteWork.from_settings(settings)
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "acks": "all",
                         "linger.ms": settings.producer_linger_ms, "partitioner": "murmur2",
                         "delivery.report.only.error": True, "on_delivery": on_delivery})
    consumer.subscribe([source])
    ready_ms = time.time() * 1000
    ready_cpu = cpu_s() or 0.0
    state: dict[bytes, TruckRoutes] = {}  # by truck id (the record key)
    processed = rejected = 0
    next_commit = time.monotonic() + commit_interval
    try:
        while processed + rejected < count:
            for m in consumer.consume(batch, timeout=0.5):
                if m.error() is not None:
                    raise KafkaException(m.error())
                key = m.key()
                try:
                    key, value, new = work(m.value() or b"", key, m.timestamp()[1], m.offset(),
                                           state.get(key or b""))
                except PoisonMessage:
                    rejected += 1
                    continue
                _produce(producer, sink, value, key)
                state[key] = new
                processed += 1
            producer.poll(0)  # serve delivery reports (failures only)
            if time.monotonic() >= next_commit:
                _commit(consumer, producer, failures)
                next_commit = time.monotonic() + commit_interval
        _commit(consumer, producer, failures)
        done_ms = time.time() * 1000
    finally:
        consumer.close()
    return {"readyMs": ready_ms, "doneMs": done_ms, "processed": processed,
            "rejected": rejected, "trucks": len(state), "vmHwmKb": vm_hwm_kb("self"),
            "cpuS": (cpu_s() or 0.0) - ready_cpu,
            "client": f"confluent-kafka {__version__} (librdkafka {libversion()[0]})"}


def _produce(producer: Producer, topic: str, value: bytes, key: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value, key)
            return
        except BufferError:  # the local queue is full: let librdkafka send, then retry
            producer.poll(0.05)


def _commit(consumer: Consumer, producer: Producer, failures: list[str]) -> None:
    """Outputs acknowledged first, then the offsets: a crash duplicates, never loses."""
    left = producer.flush(60)
    if left or failures:
        raise RuntimeError(f"{left} outputs unacknowledged, {len(failures)} failed: {failures[:3]}")
    try:
        consumer.commit(asynchronous=False)
    except KafkaException as exc:
        # nothing consumed since the last commit (librdkafka names this error with a leading _)
        if exc.args[0].code() != KafkaError._NO_OFFSET:  # noqa: SLF001
            raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.confluent_loop",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--commit-interval", type=float, default=2.8)
    parser.add_argument("--batch", type=int, default=500, help="records per consume() call")
    args = parser.parse_args(argv)
    result = run(args.source, args.sink, args.group, args.count, args.commit_interval, args.batch,
                 Settings.from_env())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
