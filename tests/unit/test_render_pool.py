"""The renderer pool with real child processes: concurrency, faults, recovery, recycling.

Faults are injected through the pool's fault file (fail | hang | crash), the test seam in
logiflow/adapters/render_faults.py, read by the child at the start of every render, so a test
can switch a fault on and off while the pool runs. The contract the pool shares with
tests.support.fakes.FakeRenderer is in test_renderer_contract.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from logiflow.adapters.pdf import ReportlabInvoiceRenderer
from logiflow.adapters.render_pool import RendererPool
from logiflow.adapters.render_stats import DURATION_BUCKETS
from logiflow.bootstrap import renderer_from
from logiflow.errors import RenderCrashed, RenderFailed, RenderTimeout
from logiflow.settings import Settings
from tests.support.factories import route_invoice
from tests.support.harness import wait_for

pytestmark = pytest.mark.timeout(60)


def run(pool: RendererPool, scenario: Callable[[RendererPool], Awaitable[None]]) -> None:
    async def main() -> None:
        async with pool:
            await scenario(pool)
    asyncio.run(main())


def is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def set_fault(fault: Path, kind: str | None) -> None:
    """Switch a fault on (fail | hang | crash) or off; sync, so async code may call it."""
    if kind is None:
        fault.unlink()
    else:
        fault.write_text(kind)


async def child_took_the_invoice(fault: Path) -> None:
    """Wait until a child has started the render: it consumed the one-shot (``times`` 1) fault."""
    await asyncio.to_thread(wait_for, lambda: not fault.exists(), 20,
                            "a renderer child to take the invoice", 0.01)


@pytest.fixture
def fault(tmp_path: Path) -> Path:
    return tmp_path / "render-fault"


def test_concurrent_renders_match_an_in_process_render() -> None:
    invoices = [route_invoice(f"TRUCK-{i}") for i in range(6)]
    expected = [ReportlabInvoiceRenderer().render(inv) for inv in invoices]

    async def scenario(pool: RendererPool) -> None:
        results = await asyncio.gather(*(pool.render(inv) for inv in invoices))
        assert list(results) == expected
        assert pool.stats()["rendered"] == 6
        assert pool.stats()["alive"] == 2

    run(RendererPool(workers=2, timeout_s=10, recycle_after=100), scenario)


def test_a_failing_renderer_raises_render_failed_and_recovers(fault: Path) -> None:
    async def scenario(pool: RendererPool) -> None:
        set_fault(fault, "fail")
        with pytest.raises(RenderFailed, match="RuntimeError: forced render failure"):
            await pool.render(route_invoice())
        set_fault(fault, None)
        assert is_pdf(await pool.render(route_invoice()))
        assert pool.stats()["failed"] == 1
        assert pool.stats()["crashes"] == 0  # the child was kept

    run(RendererPool(workers=1, timeout_s=10, recycle_after=100, fault_file=str(fault)), scenario)


def test_a_hanging_render_times_out_without_blocking_the_loop(fault: Path) -> None:
    async def scenario(pool: RendererPool) -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        set_fault(fault, "hang")
        started = time.monotonic()
        with pytest.raises(RenderTimeout):
            await pool.render(route_invoice())
        elapsed = time.monotonic() - started
        task.cancel()
        assert 0.9 < elapsed < 5
        assert ticks > 30  # the event loop kept running during the hung render
        set_fault(fault, None)
        assert is_pdf(await pool.render(route_invoice()))
        assert pool.stats()["timeouts"] == 1

    run(RendererPool(workers=1, timeout_s=1, recycle_after=100, fault_file=str(fault)), scenario)


def test_a_crashing_renderer_is_replaced(fault: Path) -> None:
    async def scenario(pool: RendererPool) -> None:
        set_fault(fault, "crash")
        with pytest.raises(RenderCrashed, match="exit code 70"):
            await pool.render(route_invoice())
        set_fault(fault, None)
        assert is_pdf(await pool.render(route_invoice()))
        assert pool.stats()["crashes"] == 1
        assert pool.stats()["alive"] == 1

    run(RendererPool(workers=1, timeout_s=10, recycle_after=100, fault_file=str(fault)), scenario)


def test_children_are_recycled_after_their_quota() -> None:
    async def scenario(pool: RendererPool) -> None:
        for i in range(7):
            assert is_pdf(await pool.render(route_invoice(f"TRUCK-{i}")))
        stats = pool.stats()
        assert stats["recycled"] >= 2
        assert stats["rendered"] == 7
        assert stats["failed"] == stats["crashes"] == stats["timeouts"] == 0
        assert stats["alive"] == 1

    run(RendererPool(workers=1, timeout_s=10, recycle_after=3), scenario)


def test_healthy_is_false_during_a_fault_and_true_after(fault: Path) -> None:
    async def scenario(pool: RendererPool) -> None:
        assert await pool.healthy()
        for kind in ("fail", "crash", "hang"):
            set_fault(fault, kind)
            assert not await pool.healthy(), kind
            set_fault(fault, None)
            assert await pool.healthy(), kind

    run(RendererPool(workers=1, timeout_s=1, recycle_after=100, fault_file=str(fault)), scenario)


def test_a_cancelled_render_does_not_leak_its_answer_to_the_next_caller(fault: Path) -> None:
    async def scenario(pool: RendererPool) -> None:
        set_fault(fault, "hang FIRST 1")
        task = asyncio.create_task(pool.render(route_invoice("FIRST")))
        await child_took_the_invoice(fault)  # it hangs in FIRST now, and the fault is gone
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        second = route_invoice("SECOND")
        assert await pool.render(second) == ReportlabInvoiceRenderer().render(second)

    run(RendererPool(workers=1, timeout_s=10, recycle_after=100, fault_file=str(fault)), scenario)


def test_stats_hold_a_histogram_of_render_durations() -> None:
    async def scenario(pool: RendererPool) -> None:
        for _ in range(3):
            await pool.render(route_invoice())
        hist = pool.stats()["render_seconds"]
        assert hist["buckets"] == list(DURATION_BUCKETS)
        assert len(hist["counts"]) == len(DURATION_BUCKETS) + 1  # the last: above every bound
        assert sum(hist["counts"]) == hist["count"] == 3
        assert hist["sum"] > 0

    run(RendererPool(workers=1, timeout_s=10, recycle_after=100), scenario)


def test_stop_is_idempotent_and_leaves_no_children() -> None:
    async def main() -> None:
        pool = RendererPool(workers=2, timeout_s=10, recycle_after=100)
        await pool.start()
        await pool.render(route_invoice())
        await pool.stop()
        await pool.stop()
        assert pool.stats()["alive"] == 0
        with pytest.raises(RenderCrashed):
            await pool.render(route_invoice())

    asyncio.run(main())


def test_stop_during_a_render_fails_that_render_and_kills_every_child(fault: Path) -> None:
    async def main() -> None:
        pool = RendererPool(workers=2, timeout_s=30, recycle_after=100, fault_file=str(fault))
        await pool.start()
        set_fault(fault, "hang TRUCK-042 1")
        task = asyncio.create_task(pool.render(route_invoice("TRUCK-042")))
        await child_took_the_invoice(fault)
        assert not task.done()
        await pool.stop()
        with pytest.raises(RenderCrashed):
            await asyncio.wait_for(task, 5)
        assert pool.stats()["alive"] == 0

    asyncio.run(main())


def test_pool_is_built_from_settings(tmp_path: Path) -> None:
    settings = Settings.from_env({}, render_workers=3, render_timeout_s=2.5,
                                 render_recycle_after=7, render_fault_file=str(tmp_path / "f"))
    pool = renderer_from(settings)
    assert (pool.workers, pool.timeout_s, pool.recycle_after, pool.fault_file) == (
        3, 2.5, 7, str(tmp_path / "f"))


def test_an_invoice_rendered_twice_in_the_pool_is_identical() -> None:
    invoice = dataclasses.replace(route_invoice(), notes=("Same bytes every time.",))

    async def scenario(pool: RendererPool) -> None:
        first = await pool.render(invoice)
        second = await pool.render(invoice)
        assert first == second

    run(RendererPool(workers=2, timeout_s=10, recycle_after=1), scenario)


def test_renders_queued_together_are_answered_each_with_its_own_pdf() -> None:
    invoices = [route_invoice(f"TRUCK-{i}") for i in range(20)]
    expected = [ReportlabInvoiceRenderer().render(inv) for inv in invoices]

    async def scenario(pool: RendererPool) -> None:
        # One child: while it renders the first, the other 19 queue and go to it in messages of
        # several invoices; the answers must still reach their own callers.
        results = await asyncio.gather(*(pool.render(inv) for inv in invoices))
        assert list(results) == expected
        assert pool.stats()["rendered"] == 20

    run(RendererPool(workers=1, timeout_s=10, recycle_after=100), scenario)


@pytest.mark.parametrize("kind, error", [("crash", RenderCrashed), ("hang", RenderTimeout),
                                         ("fail", RenderFailed)])
def test_a_fault_in_one_invoice_of_a_message_fails_only_that_invoice(
        fault: Path, kind: str, error: type[Exception]) -> None:
    invoices = [route_invoice(f"TRUCK-{i}") for i in range(6)]

    async def scenario(pool: RendererPool) -> None:
        await pool.render(route_invoice("WARM-UP"))
        set_fault(fault, f"{kind} TRUCK-2 1")  # one-shot, on the third of the six only
        results = await asyncio.gather(*(pool.render(inv) for inv in invoices),
                                       return_exceptions=True)
        assert isinstance(results[2], error), results[2]
        for i, result in enumerate(results):
            if i != 2:  # rendered by the child, or by its replacement if it died first
                assert result == ReportlabInvoiceRenderer().render(invoices[i]), i

    run(RendererPool(workers=1, timeout_s=1, recycle_after=100, fault_file=str(fault)), scenario)


def test_a_render_cancelled_while_its_message_is_in_hand_leaves_the_others_theirs() -> None:
    invoices = [route_invoice(f"TRUCK-{i}") for i in range(6)]

    async def scenario(pool: RendererPool) -> None:
        tasks = [asyncio.create_task(pool.render(inv)) for inv in invoices]
        await asyncio.sleep(0)  # all six queued
        tasks[3].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[3], asyncio.CancelledError)
        for i in (0, 1, 2, 4, 5):
            assert results[i] == ReportlabInvoiceRenderer().render(invoices[i]), i
        assert await pool.render(invoices[3]) == ReportlabInvoiceRenderer().render(invoices[3])

    run(RendererPool(workers=1, timeout_s=10, recycle_after=100), scenario)
