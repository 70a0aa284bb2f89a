"""Issue 2 acceptance on a real broker: routing → invoicing, idempotency, isolation, recovery."""

from __future__ import annotations

import json
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.conftest import assert_no_unexpected_failures, changelog
from tests.integration.scenarios import (
    money_text,
    pdf_text,
    route_requests,
    seed_event,
    totals_from_events,
    values,
)
from tests.support.harness import (
    produce,
    read_all,
    wait_for,
    wait_for_count,
    wait_stable_count,
)

pytestmark = pytest.mark.integration


def test_a_thousand_requests_for_fifty_trucks_give_a_thousand_routes_invoices_and_pdfs(make_worker):
    w = make_worker("thousand").start()
    produce(w.topic("routing.requests"), route_requests(1000, trucks=50))

    routes = values(wait_stable_count(w.topic("routing.events"), 1000, timeout=180))
    invoices = values(wait_stable_count(w.topic("invoice.events"), 1000, timeout=300))

    assert len(routes) == 1000
    assert {r["requestId"] for r in routes} == {f"req-{i}" for i in range(1000)}
    assert len({r["eventId"] for r in routes}) == 1000
    assert len(invoices) == 1000
    assert len({i["invoiceId"] for i in invoices}) == 1000
    assert {i["routeEventId"] for i in invoices} == {r["eventId"] for r in routes}
    by_route = {r["eventId"]: r for r in routes}
    for inv in invoices:
        assert inv["type"] == "InvoiceGenerated"
        assert inv["truckId"] == by_route[inv["routeEventId"]]["truckId"]
        assert Decimal(inv["net"]) + Decimal(inv["vat"]) == Decimal(inv["gross"])

    pdfs = sorted(Path(w.env["LOGIFLOW_INVOICE_DIR"]).glob("*.pdf"))
    assert len(pdfs) == 1000
    for inv in invoices:
        text = pdf_text(inv["pdfPath"])
        assert inv["invoiceNumber"] in text
        assert inv["truckId"] in text
        assert money_text(inv["gross"]) in text

    assert w.stop() == 0  # graceful: the changelogs are flushed
    expected = totals_from_events(routes, invoices)
    truck_routes = changelog(w, "truck-routes")
    truck_invoices = changelog(w, "truck-invoices")
    assert set(truck_routes) == set(expected) == {f"TR-{i:03d}" for i in range(50)}
    for truck, want in expected.items():
        assert truck_routes[truck]["routes"] == want["routes"], truck
        assert truck_routes[truck]["km"] == pytest.approx(want["km"], abs=0.05), truck
        assert truck_invoices[truck]["invoices"] == want["invoices"], truck
        assert Decimal(truck_invoices[truck]["revenue"]) == want["revenue"], truck
    assert read_all(w.topic("logiflow.dlq")) == []
    assert_no_unexpected_failures(w)


def test_a_seed_shaped_event_from_a_plain_kafka_client_is_invoiced(make_worker):
    w = make_worker("seed").start()
    produce(w.topic("routing.events"), [
        (b"TR-1", seed_event("TR-1", "2026-11-27T10:00:00Z", 1_795_735_109_054)),
        (b"TR-2", seed_event("TR-2", 1_795_800_000_000, 1_795_735_200_000)),
    ])
    invoices = values(wait_stable_count(w.topic("invoice.events"), 2, timeout=60))

    assert sorted(i["truckId"] for i in invoices) == ["TR-1", "TR-2"]
    for inv in invoices:
        assert Decimal(inv["net"]) == Decimal("45.00")  # no distance: the base fee only
        assert inv["routeEventId"].startswith("rc-")
        text = pdf_text(inv["pdfPath"])
        assert inv["invoiceNumber"] in text and inv["truckId"] in text
        assert "base fee only" in text
    assert read_all(w.topic("logiflow.dlq")) == []


def test_routing_keeps_its_pace_while_the_renderer_fails_hangs_and_crashes(make_worker, tmp_path):
    fault = tmp_path / "render-fault"
    w = make_worker("isolation", LOGIFLOW_RENDER_FAULT_FILE=fault, LOGIFLOW_RENDER_TIMEOUT_S=1,
                    LOGIFLOW_BREAKER_THRESHOLD=2, LOGIFLOW_RETRY_ATTEMPTS=4).start()
    requests = route_requests(800, trucks=40)
    batches = [requests[i:i + 200] for i in range(0, 800, 200)]

    def route_batch(batch: list, done_before: int) -> float:
        started = time.monotonic()
        produce(w.topic("routing.requests"), batch)
        wait_for_count(w.topic("routing.events"), done_before + len(batch), timeout=120)
        return time.monotonic() - started

    normal = route_batch(batches[0], 0)
    wait_for_count(w.topic("invoice.events"), 200, timeout=120)

    during: dict[str, float] = {}
    for n, mode in enumerate(("fail", "hang", "crash"), start=1):
        fault.write_text(mode)
        during[mode] = route_batch(batches[n], 200 * n)
    print(f"routing 200 requests: normal {normal:.2f} s; with renderer down: "
          + ", ".join(f"{m} {s:.2f} s" for m, s in during.items()))
    # Isolation, not speed: an outage must not make routing wait on invoicing.
    for mode, seconds in during.items():
        assert seconds < 3 * normal + 5, (mode, seconds, normal)
    assert "circuit breaker OPEN" in w.log_text()
    stuck = len(read_all(w.topic("invoice.events")))
    assert stuck < 800

    fault.unlink()
    invoices = values(wait_stable_count(w.topic("invoice.events"), 800, timeout=300))
    assert len(invoices) == 800
    assert len({i["invoiceId"] for i in invoices}) == 800
    assert len(list(Path(w.env["LOGIFLOW_INVOICE_DIR"]).glob("*.pdf"))) == 800
    wait_for(lambda: "circuit breaker CLOSED" in w.log_text(), 10, "breaker closed")
    assert read_all(w.topic("logiflow.dlq")) == []
    assert_no_unexpected_failures(w)


def test_duplicate_deliveries_and_a_restart_mid_stream_invoice_each_route_once(make_worker):
    w = make_worker("dupes").start()
    produce(w.topic("routing.requests"), route_requests(600, trucks=30))
    wait_for_count(w.topic("invoice.events"), 150, timeout=120)
    assert w.stop() == 0  # mid-stream
    w.start()

    routes = wait_stable_count(w.topic("routing.events"), 600, timeout=180)
    # Deliver 100 of the routes again, byte for byte, plus a seed-shaped event twice.
    again = [(r.key, r.value) for r in routes[:100]]
    seed = seed_event("TR-SEED", "2026-11-27T10:00:00Z", 1_795_735_109_054)
    produce(w.topic("routing.events"), [*again, (b"TR-SEED", seed), (b"TR-SEED", seed)])

    # A sentinel behind the duplicates on every partition: once all four are invoiced, every
    # duplicate before them has been consumed and had its chance to be invoiced again.
    for p in range(4):
        sentinel = seed_event(f"TR-END-{p}", 1_795_800_000_000, 1_795_735_109_054)
        produce(w.topic("routing.events"), [(f"TR-END-{p}".encode(), sentinel)], partition=p)
    invoices = values(wait_for_count(w.topic("invoice.events"), 605, timeout=300))
    assert {i["truckId"] for i in invoices} >= {f"TR-END-{p}" for p in range(4)}
    ids = [i["invoiceId"] for i in invoices]
    assert len(ids) == len(set(ids)) == 605
    assert len(list(Path(w.env["LOGIFLOW_INVOICE_DIR"]).glob("*.pdf"))) == 605
    assert w.stop() == 0
    assert read_all(w.topic("logiflow.dlq")) == []


def test_truck_tables_come_back_from_the_changelog_when_local_data_is_lost(make_worker):
    w = make_worker("recovery", LOGIFLOW_STORE="rocksdb://").start()
    produce(w.topic("routing.requests"), route_requests(200, trucks=20))
    wait_for_count(w.topic("invoice.events"), 200, timeout=120)
    assert w.stop() == 0
    before_routes, before_invoices = changelog(w, "truck-routes"), changelog(w, "truck-invoices")

    data = Path(w.env["LOGIFLOW_DATA_DIR"])
    assert list(data.rglob("*.sst")) or list(data.rglob("CURRENT")), "RocksDB files expected"
    shutil.rmtree(data)
    w.start()  # Ready only after table recovery from the changelogs
    # One more route per truck: its fold starts from the recovered state.
    more = [(f"TR-{t:03d}".encode(), json.dumps({
        "requestId": f"after-{t}", "truckId": f"TR-{t:03d}", "customerId": "C-1",
        "origin": "Hamburg", "destination": "Berlin"}).encode()) for t in range(20)]
    produce(w.topic("routing.requests"), more)
    invoices = values(wait_for_count(w.topic("invoice.events"), 220, timeout=120))
    assert w.stop() == 0

    after_routes, after_invoices = changelog(w, "truck-routes"), changelog(w, "truck-invoices")
    new_routes = {r["truckId"]: r for r in values(read_all(w.topic("routing.events")))
                  if r.get("requestId", "").startswith("after-")}
    after_ids = {r["eventId"] for r in new_routes.values()}
    new_gross = {i["truckId"]: Decimal(i["gross"]) for i in invoices if i["routeEventId"] in after_ids}
    assert len(new_gross) == 20
    assert set(after_routes) == set(before_routes)
    for truck, old in before_routes.items():
        assert after_routes[truck]["routes"] == old["routes"] + 1, truck
        assert after_routes[truck]["km"] == pytest.approx(
            old["km"] + new_routes[truck]["distanceKm"], abs=0.05), truck
        assert after_invoices[truck]["invoices"] == before_invoices[truck]["invoices"] + 1
        assert Decimal(after_invoices[truck]["revenue"]) == \
            Decimal(before_invoices[truck]["revenue"]) + new_gross[truck]
    assert list(data.rglob("CURRENT")), "tables were rebuilt on disk"


def test_routing_stopped_and_killed_mid_batch_routes_every_request_and_counts_each_once(
        make_worker, tmp_path):
    # Invoicing paused (every render fails, its breaker opens): routing alone, in batches of
    # 100 (many batches, each with table writes to lose), so the stop and the kill land inside
    # a routing batch of a backlog.
    fault = tmp_path / "render-fault"
    fault.write_text("fail")
    w = make_worker("midbatch", LOGIFLOW_RENDER_FAULT_FILE=str(fault),
                    LOGIFLOW_ROUTING_BATCH=100).start()
    n, trucks = 20_000, 100
    produce(w.topic("routing.requests"), route_requests(n, trucks=trucks))
    events = w.topic("routing.events")

    wait_for_count(events, 2_000, timeout=120)
    assert w.stop() == 0  # graceful, mid-backlog
    at_stop = len(read_all(events))
    w.start()
    wait_for_count(events, at_stop + 2_000, timeout=120)
    w.kill()  # kill -9: no flush, no commit
    at_kill = len(read_all(events))
    print(f"routed at the stop: {at_stop:,}; at the kill: {at_kill:,} (of {n:,})")
    assert at_stop < n and at_kill < n, "the stop and the kill were meant to land mid-backlog"
    w.start()

    wanted = {f"req-{i}" for i in range(n)}
    holder: dict[str, list] = {}

    def all_routed() -> bool:
        holder["routes"] = values(read_all(events))
        return {r["requestId"] for r in holder["routes"]} >= wanted

    wait_for(all_routed, 180, f"a RouteCalculated for each of the {n} requests", interval=1.0)
    routes = holder["routes"]
    by_request: dict[str, set[str]] = {}
    for r in routes:
        by_request.setdefault(r["requestId"], set()).add(r["eventId"])
    assert all(len(ids) == 1 for ids in by_request.values())  # a redelivery re-publishes the same id
    assert w.stop() == 0

    first = list({r["eventId"]: r for r in reversed(routes)}.values())[::-1]  # first of each id
    expected = totals_from_events(first, [])
    table = changelog(w, "truck-routes")
    assert set(table) == set(expected) and len(table) == trucks
    for truck, want in expected.items():
        assert table[truck]["routes"] == want["routes"], truck  # each request counted once
        assert table[truck]["km"] == pytest.approx(want["km"], abs=0.05 * want["routes"]), truck
    assert read_all(w.topic("logiflow.dlq")) == []


def producer_ids(topic: str) -> list[int]:
    """The producer id of every record batch of ``topic`` in the local broker's log files
    (Kafka's DumpLogSegments): -1 for a batch from a producer that is not idempotent."""
    import re
    import subprocess

    from logiflow.kafka import jars
    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.kafka.local_broker import LocalKafka

    local = LocalKafka(LocalBrokerSettings.from_env())
    node = local.node(1)
    files = sorted(str(f) for f in node.data.glob(f"{topic}-*/*.log"))
    assert files, f"no log files of {topic} under {node.data}"
    cmd = jars.java_command(local.libs, "128m", node.config / "log4j2.properties",
                            "kafka.tools.DumpLogSegments", "--files", ",".join(files))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return [int(m) for m in re.findall(r"^baseOffset: .* producerId: (-?\d+)", out, re.MULTILINE)]


@pytest.mark.skipif("LOGIFLOW_BROKER" in __import__("os").environ,
                    reason="reads the log files of the local broker")
def test_the_worker_publishes_through_an_idempotent_producer(make_worker):
    # A produce retried after a leader change must not be appended twice (the fault campaign
    # found InvoiceGenerated records written twice, byte for byte, by a retried batch).
    w = make_worker("idempotent").start()
    produce(w.topic("routing.events"), [(b"TR-1", seed_event("TR-1", 1_795_800_000_000,
                                                             1_795_735_200_000))])
    wait_stable_count(w.topic("invoice.events"), 1, timeout=60)
    ids = producer_ids(w.topic("invoice.events"))
    assert ids and all(i >= 0 for i in ids), ids
