"""A broker outage under a running worker: a few clear lines, health says so, a stop is quick,
and everything sent before the outage and after the broker is back is invoiced once.

The worker runs against a broker of its own (the suite's shared one keeps running).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.integration.local_brokers import local_kafka, port_block
from tests.integration.scenarios import route_requests, values
from tests.support.harness import Worker, isolated_env, produce, read_all, wait_for

# Bounded in `make test`; LOGIFLOW_TEST_OUTAGE_S=300 runs the 5-minute outage (at most
# 100 lines). The worker says it once, then once a minute, plus each kind of aiokafka error once
# a minute: about 8 lines at the start and 7 a minute after.
OUTAGE_S = float(os.environ.get("LOGIFLOW_TEST_OUTAGE_S", "40"))
MAX_LINES = 40 if OUTAGE_S <= 60 else 100


def health(w: Worker) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{w.web}/api/health", timeout=10) as r:
        return json.loads(r.read())


def test_a_broker_outage_is_said_once_shown_on_health_and_the_backlog_is_invoiced_once_after(
        tmp_path: Path, artifacts: Path) -> None:
    port = port_block(2, "LOGIFLOW_TEST_OUTAGE_PORT")
    broker = f"127.0.0.1:{port}"
    with local_kafka(tmp_path / "kafka", artifacts, port, port + 1) as kafka:
        kafka.start()
        env = isolated_env(tmp_path, "outage", LOGIFLOW_BROKER=f"kafka://{broker}")
        w = Worker(env, artifacts / "outage.log").start()
        try:
            requests = route_requests(60, trucks=6)
            produce(w.topic("routing.requests"), requests[:30], bootstrap=broker)
            invoices = w.topic("invoice.events")
            wait_for(lambda: len(read_all(invoices, bootstrap=broker)) >= 30, 120, "30 invoices")

            before = len(w.log_text().splitlines())
            kafka.stop(timeout_s=30)
            time.sleep(OUTAGE_S)  # the outage itself is what is under test
            assert health(w)["broker"]["reachable"] is False
            outage_lines = w.log_text().splitlines()[before:]
            print(f"{len(outage_lines)} log lines in a {OUTAGE_S} s outage")
            assert len(outage_lines) <= MAX_LINES, "\n".join(outage_lines[-40:])
            assert sum("Kafka broker unreachable" in line for line in outage_lines) == 1

            kafka.start()
            wait_for(lambda: "Kafka broker reachable again" in w.log_text(), 60, "the broker back")
            produce(w.topic("routing.requests"), requests[30:], bootstrap=broker)
            holder: dict[str, list] = {}

            def all_invoiced() -> bool:
                holder["inv"] = values(read_all(invoices, bootstrap=broker))
                return len(holder["inv"]) >= 60

            wait_for(all_invoiced, 180, "an invoice for each of the 60 requests", interval=1.0)
            ids = [i["invoiceId"] for i in holder["inv"]]
            assert len(ids) == len(set(ids)) == 60

            kafka.stop(timeout_s=30)  # a stop while the broker is down again
            wait_for(lambda: health(w)["broker"]["reachable"] is False, 30, "health to see it")
            assert w.proc is not None
            started = time.monotonic()
            w.proc.send_signal(signal.SIGINT)
            w.proc.wait(30)
            assert time.monotonic() - started < 10
        finally:
            w.kill()
