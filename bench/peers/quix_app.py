"""Peer: a Quix Streams application doing the routing agent's work.

``python -m bench.peers.quix_app --source T --sink T2 --group G --count N --state-dir D``, run
by the bench in the peers' venv (:mod:`bench.peers.venv`) with the run's ``LOGIFLOW_*``
environment. One ``Application`` (consumer group ``G``, earliest offset,
``processing_guarantee="at-least-once"``, ``commit_interval`` = ``--commit-interval``, producer
``acks=all`` and ``linger.ms`` = ``LOGIFLOW_PRODUCER_LINGER_MS``); one StreamingDataFrame over
``T`` (raw bytes) with a stateful ``apply`` that does the work every contestant does
(:class:`bench.work.RouteWork`: decode, plan, encode, ``apply_route``) with the truck's state in
Quix's RocksDB store (scoped to the record key, the truck id; backed by its changelog topic),
then ``to_topic(T2)`` keyed by truck id. Poison requests are counted and suppressed by the
``on_processing_error`` callback. ``Application.run(count=N)`` stops after N outputs and commits
its checkpoint (producer flushed, state written, offsets committed).

Quix stamps each output with its input's timestamp, so the output topic cannot date the work:
the app notes the wall clock at the first and the last request it routes (``firstMs``,
``lastMs``; the other contestants' outputs carry their produce time, the same instant). Prints
one JSON line: ``readyMs`` (just before ``run``: topics, state and the consumer group are set
up inside it), ``firstMs``, ``lastMs``, ``doneMs`` (``run`` returned), ``processed``,
``rejected``, ``vmHwmKb`` and ``client``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

import confluent_kafka
import quixstreams
from quixstreams import Application, State, message_context

from bench.procinfo import cpu_s, vm_hwm_kb
from bench.work import PoisonMessage, RouteWork, Settings

STATE_KEY = "routes"  # the truck's TruckRoutes, under its record key
IDLE_STOP_S = 60.0  # run() also stops when nothing arrives this long (a poison request)


def run(source: str, sink: str, group: str, count: int, commit_interval: float,
        state_dir: str, settings: Settings) -> dict[str, Any]:
    work = RouteWork.from_settings(settings)
    seen = {"processed": 0, "rejected": 0, "firstMs": 0.0, "lastMs": 0.0}

    def on_processing_error(exc: Exception, _row: Any, _logger: logging.Logger) -> bool:
        if isinstance(exc, PoisonMessage):  # the agent would dead-letter it: skip, count
            seen["rejected"] += 1
            return True
        return False

    app = Application(
        broker_address=settings.bootstrap_servers, consumer_group=group,
        auto_offset_reset="earliest", processing_guarantee="at-least-once",
        commit_interval=commit_interval, commit_every=0, state_dir=state_dir,
        producer_extra_config={"acks": "all", "linger.ms": settings.producer_linger_ms},
        on_processing_error=on_processing_error, loglevel="WARNING",
    )
    requests = app.topic(source, key_deserializer="bytes", value_deserializer="bytes")
    events = app.topic(sink, key_serializer="bytes", value_serializer="bytes")

    def route(value: bytes, key: bytes, timestamp: int, _headers: Any, state: State) -> bytes:
        _, out, new = work(value, key, timestamp, message_context().offset, state.get(STATE_KEY))
        state.set(STATE_KEY, new)
        n = seen["processed"] = seen["processed"] + 1
        if n == 1:
            seen["firstMs"] = time.time() * 1000
        if n + seen["rejected"] >= count:
            seen["lastMs"] = time.time() * 1000
        return out  # keyed as it came: the decoder rejects a key that is not the truck id

    sdf = app.dataframe(requests)
    sdf = sdf.apply(route, stateful=True, metadata=True)
    sdf = sdf.to_topic(events)
    ready_ms = time.time() * 1000
    ready_cpu = cpu_s() or 0.0
    app.run(count=count, timeout=IDLE_STOP_S, collect=False)
    done_ms = time.time() * 1000
    return {"readyMs": ready_ms, **seen, "doneMs": done_ms, "vmHwmKb": vm_hwm_kb("self"),
            "cpuS": (cpu_s() or 0.0) - ready_cpu,
            "client": f"quixstreams {quixstreams.__version__} on confluent-kafka "
                      f"{confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.quix_app",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--commit-interval", type=float, default=2.8)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    result = run(args.source, args.sink, args.group, args.count, args.commit_interval,
                 args.state_dir, Settings.from_env())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
