"""The fault campaign's pure parts: seeded schedules, the accounting, recovery times."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bench.faults import recovery
from bench.faults.accounting import Inputs, account
from bench.faults.plan import PLANS, Plan, parse_faults, schedule
from bench.faults.traffic import INVOICES, ROUTES, Seen
from logiflow.domain.invoice import invoice_id_for
from tests.support.harness import Record


@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_same_seed_gives_the_same_schedule_and_another_seed_another(name: str) -> None:
    plan = PLANS[name]
    assert schedule(plan, 11) == schedule(plan, 11)
    assert schedule(plan, 11) != schedule(plan, 12)
    assert sorted(s.kind for s in schedule(plan, 11)) == sorted(
        k for k, n in plan.faults.items() for _ in range(n))


def test_every_leave_follows_a_join_and_a_fault_only_hits_a_live_worker() -> None:
    plan = PLANS["default"]
    for seed in range(50):
        live = {"w1"}
        for step in schedule(plan, seed):
            if step.kind == "worker-join":
                assert step.worker not in live and len(live) == 1
                live.add(step.worker or "")
            elif step.kind.startswith("worker") or step.kind == "state-loss":
                assert step.worker in live, (seed, step)
                if step.kind == "worker-leave":
                    live.remove(step.worker or "")
            assert live, (seed, step)
            if step.kind == "broker-kill":
                assert step.node in (1, 2, 3)


def test_the_default_plan_is_the_acceptance_plan() -> None:
    f = PLANS["default"].faults
    assert PLANS["default"].brokers == 3 and f["broker-kill"] >= 1
    assert f["worker-kill"] >= 10 and f["broker-restart"] + f["broker-kill"] >= 2
    assert f["worker-join"] + f["worker-leave"] >= 2 and f["state-loss"] >= 1


def test_a_faults_spec_replaces_the_plans_faults_and_unknown_kinds_are_refused() -> None:
    assert parse_faults("worker-kill:3, state-loss") == {"worker-kill": 3, "state-loss": 1}
    assert PLANS["small"].with_faults("worker-kill:2").faults == {"worker-kill": 2}
    with pytest.raises(ValueError, match="unknown fault kind"):
        Plan("x", faults={"worker-explode": 1})
    with pytest.raises(ValueError, match="worker-join before"):
        Plan("x", faults={"worker-leave": 1})


def rec(topic: str, value: dict, partition: int = 0, offset: int = 0,
        headers: list[tuple[str, bytes]] | None = None) -> Record:
    return Record(topic, partition, offset, 0, b"TR-1", json.dumps(value).encode(), headers or [])


def route(rid: str, km: float = 10.0) -> dict:
    return {"type": "RouteCalculated", "requestId": rid, "eventId": f"rc-{rid}", "truckId": "TR-1",
            "distanceKm": km}


def invoice(rid: str, gross: str = "11.90") -> dict:
    iid = invoice_id_for(f"rc-{rid}")
    return {"type": "InvoiceGenerated", "invoiceId": iid, "routeEventId": f"rc-{rid}",
            "truckId": "TR-1", "gross": gross}


def inputs(**over: object) -> Inputs:
    reqs = [rec("req", {"requestId": r}) for r in ("f1-1", "f1-2", "f1-3", "f1-bad-4")]
    routes = [rec("ev", route(r)) for r in ("f1-1", "f1-2", "f1-3")]
    invs = [rec("inv", invoice(r)) for r in ("f1-1", "f1-2", "f1-3")]
    dlq = [rec("dlq", {"requestId": "f1-bad-4"}, headers=[("logiflow.dlq.topic", b"req")])]
    base = {
        "requests_topic": "req", "routes_topic": "ev", "requests": reqs, "routes": routes,
        "invoices": invs, "dlq": dlq,
        "truck_routes": {"TR-1": {"routes": 3, "km": 30.0}},
        "truck_invoices": {"TR-1": {"invoices": 3, "revenue": str(Decimal("11.90") * 3)}},
        "issued": {json.loads(r.value)["invoiceId"]: {} for r in invs},
        "files": [f"{json.loads(r.value)['invoiceId']}.pdf" for r in invs],
    }
    base.update(over)
    return Inputs(**base)  # type: ignore[arg-type]


def test_a_clean_run_accounts_to_zero_and_equal_tables() -> None:
    f = account(inputs())
    assert (f["requestsSent"], f["poisonSent"], f["dlqEntries"]) == (3, 1, 1)
    assert f["lostRoutes"] == f["lostInvoices"] == f["duplicateInvoiceGenerated"] == 0
    assert f["duplicatePdfs"] == f["strayFiles"] == f["poisonNotDeadLettered"] == 0
    assert f["tablesEqual"] and f["pdfs"] == f["distinctInvoiceIds"] == 3


def test_losses_duplicates_stray_files_and_wrong_tables_are_counted() -> None:
    base = inputs()
    f = account(inputs(
        routes=[*base.routes[:2], base.routes[0]],          # f1-3 never routed, f1-1 twice
        invoices=base.invoices[:1] + base.invoices[:1],     # f1-2 not invoiced, f1-1 twice
        files=[*base.files[:1], ".INV-X.tmp"],
        truck_routes={"TR-1": {"routes": 3, "km": 30.0}}))
    assert f["lostRoutes"] == 1 and f["samples"]["lostRoutes"] == ["f1-3"]
    assert f["lostInvoices"] == 1 and f["duplicateRouteCalculated"] == 1
    assert f["duplicateInvoiceGenerated"] == 1 and f["strayFiles"] == 1
    assert not f["tablesEqual"]  # 3 routes in the table, 2 distinct requests routed


def test_a_dead_lettered_request_is_not_lost() -> None:
    base = inputs()
    dlq = [*base.dlq, rec("dlq", {"requestId": "f1-3"}, headers=[("logiflow.dlq.topic", b"req")])]
    f = account(inputs(routes=base.routes[:2], invoices=base.invoices[:2], dlq=dlq,
                       truck_routes={"TR-1": {"routes": 2, "km": 20.0}},
                       truck_invoices={"TR-1": {"invoices": 2, "revenue": "23.80"}},
                       issued={json.loads(r.value)["invoiceId"]: {} for r in base.invoices[:2]},
                       files=base.files[:2]))
    assert f["lostRoutes"] == 0 and f["dlqValidRequests"] == 1 and f["tablesEqual"]


def test_recovery_is_the_slowest_partitions_first_record_made_after_the_fault() -> None:
    seen = [Seen(ROUTES, 0, 900, 950), Seen(ROUTES, 1, 900, 960),          # before the fault
            Seen(ROUTES, 0, 1500, 1600), Seen(ROUTES, 1, 1000, 1700),      # p1: made before done
            Seen(ROUTES, 1, 3100, 4000), Seen(INVOICES, 0, 2000, 2100)]
    notes = recovery.index(seen)
    w = recovery.Window(fault_ms=1000, done_ms=1050, end_ms=5000)
    assert recovery.recovery_s(notes, ROUTES, [0, 1], w) == 3.0      # p1 at 4000
    assert recovery.by_partition_s(notes, INVOICES, [0, 1], w)[1] is None
    assert recovery.recovery_s(notes, INVOICES, [0, 1], w) is None   # p1 never
    assert recovery.stall_s(notes, ROUTES, [0, 1], w) == 3.4          # p0: 1600 -> end 5000
