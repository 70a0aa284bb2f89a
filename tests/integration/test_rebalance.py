"""Partitions changing hands while events are in flight: nothing lost, nothing invoiced twice.

Workers of the same app (one consumer group) join and leave a worker that is draining a
backlog, in quick succession: each rebalance lands while the workers hold taken, not yet
processed, events and have more queued in their streams' buffers, and the next one comes
before they have worked through what the previous one handed them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import assert_no_unexpected_failures
from tests.integration.scenarios import values
from tests.support.harness import Worker, isolated_env, produce, read_all, wait_for, wait_for_count

# With 2,000 events on a loaded machine this lost 64 invoices before the ack guard. With 10,000
# it then lost 5 (2026-12-01), or stalled with offsets 569-601 of a partition never processed
# (2026-12-02): the events dropped when a table recovery resumed the flow a second time and the
# commit that went past them (faust_compat.keep_buffers_on_resume, CommitGuard). Passed 3 runs in
# a row after that fix. Marked `faults` so that `make faults-test` can run it alone; `make test`
# runs it too.
pytestmark = pytest.mark.faults

SEED_TS = 1_795_735_109_054


def seed_routes(n: int, trucks: int) -> list[tuple[bytes, bytes]]:
    """Minimal RouteCalculated events (the seed's shape), one distinct event per index."""
    out = []
    for i in range(n):
        truck = f"TR-{i % trucks:03d}"
        out.append((truck.encode(), json.dumps({
            "type": "RouteCalculated", "truckId": truck, "eta": SEED_TS + 3_600_000,
            "timestamp": SEED_TS + i}).encode()))
    return out


def test_workers_joining_and_leaving_mid_backlog_lose_no_invoice_and_bill_none_twice(
        kafka: str, tmp_path: Path, artifacts: Path) -> None:
    base = isolated_env(tmp_path, "rebalance", LOGIFLOW_INVOICE_BATCH=50,
                        LOGIFLOW_DATA_DIR=str(tmp_path / "data-a"))

    def worker(name: str) -> Worker:
        env = {**base, "LOGIFLOW_DATA_DIR": str(tmp_path / f"data-{name}"),
               "LOGIFLOW_WEB_PORT": isolated_env(tmp_path, name)["LOGIFLOW_WEB_PORT"]}
        return Worker(env, artifacts / f"{name}.log")

    a, b, c = worker("a"), worker("b"), worker("c")
    try:
        a.start()
        # Enough that the three rebalances land mid-backlog on an idle machine too (the canvas
        # renderer invoices a few hundred a second).
        n = 10_000
        produce(a.topic("routing.events"), seed_routes(n, trucks=40))
        invoices = a.topic("invoice.events")
        wait_for_count(invoices, 100, timeout=120)
        b.start()   # rebalance 1
        c.start()   # rebalance 2, right after
        assert b.stop() == 0  # rebalance 3: b's partitions move on
        c.kill()    # kill -9: c's partitions move on, its in-flight events are redelivered
        at_leave = len(read_all(invoices))
        print(f"invoices when b and c had left: {at_leave} (of {n})")
        assert at_leave < n, "the rebalances were meant to land mid-backlog"

        holder: dict[str, list] = {}

        def all_invoiced() -> bool:
            holder["inv"] = values(read_all(invoices))
            return len({i["routeEventId"] for i in holder["inv"]}) >= n

        wait_for(all_invoiced, 480, f"an InvoiceGenerated for each of the {n} route events",
                 interval=1.0)
        ids = [i["invoiceId"] for i in holder["inv"]]
        assert len(set(ids)) == n
        assert read_all(a.topic("logiflow.dlq")) == []
        assert_no_unexpected_failures(a)
    finally:
        for w in (c, b, a):
            w.kill()
