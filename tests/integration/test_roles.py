"""Issue 9, roles: two routing and two invoicing workers (real ``logiflow worker --role`` processes).

Each role is its own consumer group: its workers split its partitions, one of each is stopped
and restarted in turn while requests keep coming, and every request is still routed once and
invoiced once (read back from the topics, deduplicated by event id: delivery is at least once).
Any worker answers the truck page alike; a routing worker has no renderer process and never
loads reportlab.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import assert_no_unexpected_failures, changelog
from tests.integration.scenarios import route_requests, values
from tests.support.harness import (
    BIN,
    Worker,
    free_port,
    isolated_env,
    produce,
    read_all,
    wait_for,
    wait_for_count,
    wait_stable_count,
)

pytestmark = pytest.mark.integration

N, TRUCKS, CHUNKS = 2000, 20, 5


def get_json(w: Worker, path: str) -> Any:
    with urllib.request.urlopen(w.web + path, timeout=30) as resp:
        return json.loads(resp.read())


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (renderers are children of a forkserver child)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            kids = [int(c) for c in children.read_text().split()]
            out += kids
            todo += kids
    return out


def held(w: Worker, topic: str) -> list[int]:
    return sorted(get_json(w, "/api/health")["assignedPartitions"].get(topic, []))


def split(a: Worker, b: Worker, topic: str) -> tuple[list[int], list[int]] | None:
    """Both workers' partitions of ``topic``, once they are disjoint halves of all four."""
    pa, pb = held(a, topic), held(b, topic)
    if len(pa) == len(pb) == 2 and sorted(pa + pb) == [0, 1, 2, 3]:
        return pa, pb
    return None


def test_two_routing_and_two_invoicing_workers_split_the_work_and_survive_restarts_in_turn(
        kafka: str, tmp_path: Path, artifacts: Path) -> None:
    base = isolated_env(tmp_path, "roles", LOGIFLOW_SESSION_TIMEOUT_S=8)

    def worker(name: str, role: str) -> Worker:
        env = {**base, "LOGIFLOW_WEB_PORT": str(free_port()), "LOGIFLOW_INSTANCE_ID": name,
               "LOGIFLOW_DATA_DIR": str(tmp_path / name / "data")}
        return Worker(env, artifacts / f"{name}.log", args=("--role", role))

    r1, r2, i1, i2 = (worker("routing-1", "routing"), worker("routing-2", "routing"),
                      worker("invoicing-1", "invoicing"), worker("invoicing-2", "invoicing"))
    workers = [r1, r2, i1, i2]
    requests_topic, events_topic = r1.topic("routing.requests"), r1.topic("routing.events")
    invoices_topic = r1.topic("invoice.events")
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda w: w.start(), workers))
        routing_split = wait_for(lambda: split(r1, r2, requests_topic), 90, "routing split")
        invoicing_split = wait_for(lambda: split(i1, i2, events_topic), 90, "invoicing split")
        print(f"routing.requests partitions: routing-1 {routing_split[0]}, routing-2 "
              f"{routing_split[1]}; routing.events: invoicing-1 {invoicing_split[0]}, "
              f"invoicing-2 {invoicing_split[1]}")
        # A routing worker subscribes to nothing of invoicing's, and the other way round.
        assert held(r1, events_topic) == held(i1, requests_topic) == []

        # No renderer below a routing worker, and no reportlab in it; an invoicing worker has both.
        assert r1.proc is not None and i1.proc is not None
        assert descendants(r1.proc.pid) == [], "a routing worker started child processes"
        assert get_json(r1, "/api/health")["reportlabLoaded"] is False
        assert len(descendants(i1.proc.pid)) >= 2  # the forkserver and its renderer
        assert get_json(i1, "/api/health")["reportlabLoaded"] is True

        requests = route_requests(N, trucks=TRUCKS)
        chunks = [requests[i::CHUNKS] for i in range(CHUNKS)]
        produce(requests_topic, chunks[0])
        for stopped, other, topic in ((r1, r2, requests_topic), (i1, i2, events_topic)):
            assert stopped.stop() == 0
            produce(requests_topic, chunks[1 if stopped is r1 else 3])  # while it is down
            wait_for(lambda o=other, t=topic: held(o, t) == [0, 1, 2, 3], 60,
                     f"{other.env['LOGIFLOW_INSTANCE_ID']} taking all of {topic}")
            stopped.start()
            wait_for(lambda s=stopped, o=other, t=topic: split(s, o, t), 90,
                     f"{topic} split again after the restart")
            produce(requests_topic, chunks[2 if stopped is r1 else 4])

        wanted = {f"req-{i}" for i in range(N)}
        holder: dict[str, Any] = {}

        def everything_invoiced() -> bool:
            holder["routes"] = values(read_all(events_topic))
            holder["invoices"] = values(read_all(invoices_topic))
            route_ids = {r["eventId"] for r in holder["routes"]}
            return ({r["requestId"] for r in holder["routes"]} >= wanted
                    and {i["routeEventId"] for i in holder["invoices"]} >= route_ids)

        wait_for(everything_invoiced, 300, f"{N} requests routed and invoiced", interval=1.0)
        routes, invoices = holder["routes"], holder["invoices"]
        by_request: dict[str, set[str]] = {}
        for r in routes:
            by_request.setdefault(r["requestId"], set()).add(r["eventId"])
        by_route: dict[str, set[str]] = {}
        for inv in invoices:
            by_route.setdefault(inv["routeEventId"], set()).add(inv["invoiceId"])
        print(f"{len(routes)} RouteCalculated for {len(by_request)} requests, {len(invoices)} "
              f"InvoiceGenerated for {len(by_route)} routes")
        assert set(by_request) == wanted
        assert all(len(ids) == 1 for ids in by_request.values())  # routed once (same event id)
        assert set(by_route) == {next(iter(ids)) for ids in by_request.values()}
        assert all(len(ids) == 1 for ids in by_route.values())  # invoiced once (same invoice id)
        assert read_all(r1.topic("logiflow.dlq")) == []

        # The truck page: any worker, the same routes and invoices, as the topics count them.
        route_of = {next(iter(ids)): req for req, ids in by_request.items()}
        truck_of = {r["eventId"]: r["truckId"] for r in routes}
        expected = {f"TR-{t:03d}": [0, 0] for t in range(TRUCKS)}
        for event_id in route_of:
            expected[truck_of[event_id]][0] += 1
        for route_event in by_route:
            expected[truck_of[route_event]][1] += 1

        def pages_agree() -> bool:
            pages = {w.env["LOGIFLOW_INSTANCE_ID"]: [get_json(w, f"/api/trucks/{t}") for t in expected]
                     for w in workers}
            holder["pages"] = pages
            counts = {name: [[p["routes"], p["invoices"]] for p in ps] for name, ps in pages.items()}
            return all(c == list(expected.values()) for c in counts.values())

        wait_for(pages_agree, 60, "every worker's truck pages matching the topics", interval=1.0)
        first = holder["pages"]["routing-1"]
        for name, pages in holder["pages"].items():
            for a, b in zip(first, pages, strict=True):
                assert a["recentRoutes"] == b["recentRoutes"], name
                assert a["recentInvoices"] == b["recentInvoices"], name
                assert set(b["parts"]) == {"routes", "invoices"}

        # The whole system from any worker: both roles complete, every request counted once.
        system = get_json(i2, "/api/system")
        assert system["roles"]["routing"]["complete"] and system["roles"]["invoicing"]["complete"]
        assert system["totals"]["routes"] == N and system["totals"]["invoices"] == N
        assert {w["url"] for w in system["roles"]["routing"]["workers"]} == {r1.web, r2.web}
        assert {w["url"] for w in system["roles"]["invoicing"]["workers"]} == {i1.web, i2.web}

        # The changelogs kept role all's names: <app id>-<table>-changelog.
        assert sum(v["routes"] for v in changelog(r1, "truck-routes").values()) == N
        assert sum(v["invoices"] for v in changelog(i1, "truck-invoices").values()) == N
        for w in workers:
            assert_no_unexpected_failures(w)
    finally:
        for w in workers:
            w.kill()


def test_a_routing_worker_shows_the_dlq_that_a_dlq_worker_indexes(
        kafka: str, tmp_path: Path, artifacts: Path) -> None:
    base = isolated_env(tmp_path, "roles-dlq")
    routing = Worker({**base, "LOGIFLOW_INSTANCE_ID": "routing-1"}, artifacts / "routing-1.log",
                     args=("--role", "routing"))
    dlq = Worker({**base, "LOGIFLOW_WEB_PORT": str(free_port()), "LOGIFLOW_INSTANCE_ID": "dlq-1",
                  "LOGIFLOW_DATA_DIR": str(tmp_path / "dlq" / "data")}, artifacts / "dlq-1.log",
                 args=("--role", "dlq"))
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda w: w.start(), (routing, dlq)))
        produce(routing.topic("routing.requests"), [
            (b"TR-1", b"{not json"),
            (b"TR-2", json.dumps({"requestId": "r", "truckId": "TR-2", "customerId": "C",
                                  "origin": "Atlantis", "destination": "Munich"}).encode())])

        def listed() -> Any:
            found = get_json(routing, "/api/dlq")
            return found if found["matched"] == 2 else None

        found = wait_for(listed, 60, "two DLQ entries, read through the routing worker")
        assert found["servedBy"] == dlq.web  # the dlq worker holds the index
        assert {e["reason"] for e in found["entries"]} == {"invalid-json", "unknown-place"}
        assert get_json(routing, "/api/dlq/summary")["depth"] == 2
        system = get_json(routing, "/api/system")
        assert system["roles"]["dlq"]["totals"] == {"entries": 2, "depth": 2}
        [dlq_worker] = system["roles"]["dlq"]["workers"]
        assert dlq_worker["url"] == dlq.web and dlq_worker["recovering"] is False
        assert system["roles"]["dlq"]["state"] == "Stable" and not system["roles"]["dlq"]["recovering"]
        assert system["roles"]["invoicing"]["workers"] == []  # none started: shown, not hidden
        with urllib.request.urlopen(routing.web + "/metrics", timeout=30) as resp:
            text = resp.read().decode()
        assert "logiflow_events_processed" in text and "logiflow_dlq_depth" not in text  # not its table
        with urllib.request.urlopen(dlq.web + "/metrics", timeout=30) as resp:
            assert "logiflow_dlq_depth 2" in resp.read().decode()
        for w in (routing, dlq):
            assert_no_unexpected_failures(w)
    finally:
        for w in (routing, dlq):
            w.kill()


def test_moving_from_role_all_to_split_roles_keeps_the_tables_and_processes_nothing_again(
        kafka: str, tmp_path: Path, artifacts: Path) -> None:
    base = isolated_env(tmp_path, "roles-move")
    one = Worker({**base, "LOGIFLOW_DATA_DIR": str(tmp_path / "all" / "data")}, artifacts / "all.log")
    routing = Worker({**base, "LOGIFLOW_DATA_DIR": str(tmp_path / "r" / "data")},
                     artifacts / "routing.log", args=("--role", "routing"))
    invoicing = Worker({**base, "LOGIFLOW_WEB_PORT": str(free_port()),
                        "LOGIFLOW_DATA_DIR": str(tmp_path / "i" / "data")},
                       artifacts / "invoicing.log", args=("--role", "invoicing"))
    requests = route_requests(400, trucks=10)
    try:
        one.start()
        produce(one.topic("routing.requests"), requests[:300])
        wait_for_count(one.topic("invoice.events"), 300, timeout=180)
        assert one.stop() == 0

        dry = one.cli("roles", "split-offsets").stdout
        assert "would copy" in dry and "dry run" in dry
        applied = one.cli("roles", "split-offsets", "--apply").stdout
        app_id = base["LOGIFLOW_APP_ID"]
        for group, topic in ((f"{app_id}-routing", "routing.requests"),
                             (f"{app_id}-invoicing", "routing.events")):
            # Each partition with records: the all group committed past all of them.
            per_partition = Counter(r.partition for r in read_all(one.topic(topic)))
            assert sum(per_partition.values()) == 300
            for p, n in per_partition.items():
                assert f"{group}  {one.topic(topic)}[{p}]  copied offset {n}" in applied, applied
        assert "copied" not in one.cli("roles", "split-offsets", "--apply").stdout  # kept now

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda w: w.start(), (routing, invoicing)))
        produce(one.topic("routing.requests"), requests[300:])
        # Nothing of the first 300 is routed or invoiced again: the role groups started at the
        # offsets the all group had committed.
        routes = wait_stable_count(one.topic("routing.events"), 400, timeout=180, settle=5)
        invoices = wait_stable_count(one.topic("invoice.events"), 400, timeout=180, settle=5)
        assert len(routes) == len(invoices) == 400
        # The tables came with them (same changelogs): every truck counts all 40 of its routes.
        for t in range(10):
            page = get_json(invoicing, f"/api/trucks/TR-{t:03d}")
            assert (page["routes"], page["invoices"]) == (40, 40), page
        for w in (one, routing, invoicing):
            assert_no_unexpected_failures(w)
    finally:
        for w in (one, routing, invoicing):
            w.kill()


def test_an_unknown_role_stops_the_worker_before_it_starts(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, "badrole", LOGIFLOW_BROKER="kafka://127.0.0.1:1")
    result = subprocess.run([str(BIN / "logiflow"), "worker", "--role", "billing"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "LOGIFLOW_ROLE (or --role) must be one of all, routing, invoicing, dlq" in result.stderr
    assert "billing" in result.stderr and "Traceback" not in result.stderr
