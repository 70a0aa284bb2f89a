"""Each agent through Faust's test agents: real agent code and tables, fake side effects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from agents import dead_letters, invoicing, routing
from logiflow.domain import dlq
from logiflow.domain.model import SourceRecord
from logiflow.errors import RenderFailed, RenderTimeout
from logiflow.wire import decode_route_calculated
from tables.dead_letters import dlq_entries
from tables.trucks import invoices_issued, truck_invoices, truck_routes
from tests.functional.conftest import Fakes

REQUEST = {"requestId": "r1", "truckId": "TR-1", "customerId": "C-1", "origin": "Hamburg",
           "destination": "Munich", "stops": ["Leipzig", "Berlin"]}
SEED = {"type": "RouteCalculated", "truckId": "TR-7", "eta": "2026-11-27T10:00:00Z",
        "timestamp": 1_795_735_109_054}


def run(agent: Any, body: Callable[[Any], Awaitable[None]]) -> None:
    async def go() -> None:
        async with agent.test_context() as test_agent:
            await body(test_agent)

    asyncio.run(go())


def as_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def dlq_records(fakes: Fakes) -> list[dict[str, Any]]:
    """Failure records sent to the DLQ topic (not lifecycle events)."""
    return [m for m in fakes.publisher.to("logiflow.dlq")
            if dlq.header(m["headers"], dlq.H_ID)]  # type: ignore[arg-type]


# --- routing --------------------------------------------------------------------------------

def test_a_route_request_is_published_as_route_calculated_and_counted_for_its_truck(fakes: Fakes):
    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-1", value=as_bytes(REQUEST))

    run(routing.calculate_routes, body)

    [out] = fakes.publisher.to("routing.events")
    assert out["key"] == b"TR-1"
    event = decode_route_calculated(out["value"], b"TR-1")  # type: ignore[arg-type]
    assert [s.name for s in event.stops] == ["Berlin", "Leipzig"]  # re-ordered: shorter trip
    assert event.distance_km and event.distance_km > 600
    state = truck_routes["TR-1"]
    assert state["routes"] == 1 and state["km"] == event.distance_km
    assert state["lastDestination"] == "Munich"


def test_poison_requests_go_to_the_dlq_with_their_exact_bytes_and_the_stream_goes_on(fakes: Fakes):
    bad = [b"\xff\xfenot utf8", b"{not json", b"[1,2]", as_bytes({**REQUEST, "origin": "Atlantis"}),
           as_bytes({**REQUEST, "truckId": "TR-OTHER"})]

    async def body(agent: Any) -> None:
        for value in bad:
            await agent.put(key=b"TR-1", value=value)
        await agent.put(key=b"TR-1", value=as_bytes(REQUEST))

    run(routing.calculate_routes, body)

    records = dlq_records(fakes)
    assert [r["value"] for r in records] == bad
    reasons = [dlq.header(r["headers"], dlq.H_REASON) for r in records]  # type: ignore[arg-type]
    assert reasons == ["not-utf8", "invalid-json", "not-an-object", "unknown-place", "key-mismatch"]
    for r in records:
        headers = r["headers"]
        assert r["wait"] is True  # acknowledged before the source message counts as done
        assert dlq.header(headers, dlq.H_KIND) == "poison"  # type: ignore[arg-type]
        assert dlq.header(headers, dlq.H_AGENT) == "calculate_routes"  # type: ignore[arg-type]
        assert dlq.header(headers, dlq.H_TOPIC) == "routing.requests"  # type: ignore[arg-type]
    assert len(fakes.publisher.to("routing.events")) == 1
    assert truck_routes["TR-1"]["routes"] == 1


# --- invoicing ------------------------------------------------------------------------------

def test_a_route_event_is_rendered_stored_and_announced_once_even_when_delivered_twice(fakes: Fakes):
    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)

    assert len(fakes.renderer.rendered) == 1
    [announced] = fakes.publisher.to("invoice.events")
    assert announced["wait"] in (True, "soon")  # acknowledged before it counted as issued
    body_ = json.loads(announced["value"])  # type: ignore[arg-type]
    assert body_["net"] == "45.00" and body_["truckId"] == "TR-7"
    assert fakes.store.exists(body_["invoiceId"])
    assert invoices_issued[body_["invoiceId"]]["gross"] == body_["gross"]
    assert truck_invoices["TR-7"]["invoices"] == 1
    assert truck_invoices["TR-7"]["revenue"] == body_["gross"]


def test_an_invoice_already_on_disk_is_announced_without_rendering_again(fakes: Fakes):
    from logiflow.domain.invoice import invoice_id_for

    event = decode_route_calculated(as_bytes(SEED), b"TR-7")
    fakes.store.put_if_absent(invoice_id_for(event.event_id), b"%PDF-from-before-the-crash")

    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)

    assert fakes.renderer.rendered == []
    assert len(fakes.publisher.to("invoice.events")) == 1


def test_an_invoice_announced_before_a_crash_lost_its_table_write_is_recorded_not_announced_again(
        fakes: Fakes):
    # The first run announces the invoice; the crash loses its table writes (cleared here) and
    # the source offset was not committed, so the same route event comes again.
    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)
    assert len(fakes.publisher.to("invoice.events")) == 1
    invoices_issued.data.clear()
    truck_invoices.data.clear()

    run(invoicing.generate_invoices, body)

    assert len(fakes.publisher.to("invoice.events")) == 1  # announced once
    assert fakes.publisher.tail_reads  # the agent read the partition's tail back
    assert len(invoices_issued.data) == 1
    assert truck_invoices["TR-7"]["invoices"] == 1
    assert len(fakes.renderer.rendered) == 1  # the PDF on disk was reused


def test_a_truck_count_lost_with_the_worker_is_made_good_once_and_a_replay_is_not_counted(
        fakes: Fakes):
    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)
    assert truck_invoices["TR-7"]["invoices"] == 1
    truck_invoices.data.clear()  # killed after the invoices-issued write, before this one

    run(invoicing.generate_invoices, body)  # the same record again (test agents: offset 0)
    assert truck_invoices["TR-7"]["invoices"] == 1
    assert len(fakes.publisher.to("invoice.events")) == 1

    # Had another record (a replay, an upstream duplicate) issued it, this one is not counted.
    [(invoice_id, issued)] = invoices_issued.data.items()
    invoices_issued.data[invoice_id] = {**issued, "sourceOffset": 99}
    truck_invoices.data.clear()
    run(invoicing.generate_invoices, body)
    assert "TR-7" not in truck_invoices.data


def test_a_render_that_fails_a_few_times_succeeds_within_the_retry_budget(fakes: Fakes):
    fakes.renderer.raise_next = [RenderFailed("flaky"), RenderTimeout("slow")]

    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)

    assert len(fakes.renderer.rendered) == 3
    assert len(fakes.publisher.to("invoice.events")) == 1
    assert dlq_records(fakes) == []


def test_a_message_that_keeps_failing_while_the_renderer_is_healthy_is_dead_lettered_after_the_attempts(
        fakes: Fakes, monkeypatch: Any):
    attempts = fakes.deps.settings.retry_attempts
    fakes.renderer.raise_next = [RenderFailed("this invoice breaks the PDF library")] * 50

    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)

    assert len(fakes.renderer.rendered) == attempts
    [record] = dlq_records(fakes)
    headers = record["headers"]
    assert dlq.header(headers, dlq.H_KIND) == "transient"  # type: ignore[arg-type]
    assert dlq.header(headers, dlq.H_REASON) == "render-failed"  # type: ignore[arg-type]
    assert dlq.header(headers, dlq.H_ATTEMPTS) == str(attempts)  # type: ignore[arg-type]
    assert record["value"] == as_bytes(SEED)
    assert fakes.publisher.to("invoice.events") == []


def test_a_renderer_outage_opens_the_breaker_and_nothing_is_dead_lettered(fakes: Fakes,
                                                                          monkeypatch: Any):
    fakes.renderer.fail_with = RenderTimeout("renderer down")
    probes_while_down = 3
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if fakes.renderer.health_checks >= probes_while_down:
            fakes.renderer.fail_with = None  # the renderer comes back

    policy = fakes.deps.policy("generate_invoices")
    assert policy.breaker.opened == 0  # a fresh container per test
    monkeypatch.setattr(policy, "sleep", sleep)

    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED))

    run(invoicing.generate_invoices, body)

    assert policy.breaker.opened == 1
    assert policy.breaker.state == "closed"
    assert dlq_records(fakes) == []
    assert len(fakes.publisher.to("invoice.events")) == 1


def test_a_replayed_message_that_succeeds_resolves_its_dlq_entry(fakes: Fakes):
    headers = [("trace-id", b"abc"), (dlq.H_REPLAY_ENTRY, b"dlq-123"), (dlq.H_REPLAY_N, b"1")]

    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=as_bytes(SEED), headers=headers)

    run(invoicing.generate_invoices, body)

    [event] = fakes.publisher.to("logiflow.dlq")
    assert dlq.header(event["headers"], dlq.H_EVENT) == "lifecycle"  # type: ignore[arg-type]
    assert json.loads(event["value"]) | {"at": 0} == {  # type: ignore[arg-type]
        "entryId": "dlq-123", "action": "resolved", "by": "generate_invoices", "at": 0,
        "replayCount": 1}


def test_a_poison_route_event_is_dead_lettered_not_invoiced(fakes: Fakes):
    bad = as_bytes({**SEED, "eta": "next tuesday"})

    async def body(agent: Any) -> None:
        await agent.put(key=b"TR-7", value=bad)

    run(invoicing.generate_invoices, body)

    [record] = dlq_records(fakes)
    assert record["value"] == bad
    assert dlq.header(record["headers"], dlq.H_AGENT) == "generate_invoices"  # type: ignore[arg-type]
    assert fakes.renderer.rendered == []


# --- the DLQ index --------------------------------------------------------------------------

def test_the_dlq_index_follows_an_entry_from_failure_to_resolution(fakes: Fakes):
    source = SourceRecord(topic="routing.events", partition=2, offset=41,
                          timestamp_ms=1_795_735_109_054, key=b"TR-7", value=b"{bad", headers=[])
    failure = dlq.Failure(
        source=source, group="g", agent="generate_invoices",
        kind="poison", reason="invalid-json", error_class="PoisonMessage", error_message="x",
        stacktrace="tb", attempts=1, first_failure_ms=1, last_failure_ms=2, version="0.1.0")
    record = dlq.build_record(failure, 1024)
    entry_id = dlq.header(record.headers, dlq.H_ID)
    assert entry_id is not None

    async def body(agent: Any) -> None:
        await agent.put(key=record.key, value=record.value, headers=record.headers)
        assert dlq_entries[entry_id]["status"] == "new"
        await agent.put(key=entry_id.encode(), value=dlq.lifecycle_event(
            entry_id, "replayed", "ops", 3, replay_count=1), headers=dlq.LIFECYCLE_HEADERS)
        assert dlq_entries[entry_id]["status"] == "replayed"
        await agent.put(key=entry_id.encode(), value=dlq.lifecycle_event(
            entry_id, "resolved", "generate_invoices", 4, replay_count=1),
            headers=dlq.LIFECYCLE_HEADERS)

    run(dead_letters.index_dead_letters, body)

    entry = dlq_entries[entry_id]
    assert entry["status"] == "resolved"
    assert entry["sourceOffset"] == 41 and entry["truckId"] == "TR-7"
    assert entry["reason"] == "invalid-json" and entry["replayCount"] == 1
    assert [h["action"] for h in entry["history"]] == ["failed", "replayed", "resolved"]
