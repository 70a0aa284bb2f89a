"""The renderer contract: one class of tests run against FakeRenderer and the real RendererPool.

The functional tests drive the invoice agent and its circuit breaker with tests.support.fakes.FakeRenderer;
what they prove holds for the worker only as far as the fake behaves like the pool. These are
the semantics they rely on: a render returns the invoice's PDF, the same bytes every time;
``healthy()`` is False while the renderer is down and True while only one invoice fails;
``stats()`` has one shape; start and stop are idempotent and a stopped renderer fails renders.
Select with ``-k contract``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest

from logiflow.adapters.render_pool import RendererPool
from logiflow.adapters.render_stats import DURATION_BUCKETS, RenderStats
from logiflow.errors import RenderCrashed, RenderFailed
from logiflow.processing.metrics import HistogramSnapshot
from logiflow.web import panels
from tests.support.factories import route_invoice
from tests.support.fakes import FakeRenderer

pytestmark = pytest.mark.timeout(60)

Renderer = FakeRenderer | RendererPool


@dataclass
class Subject:
    """A renderer plus the switches that misbehave it in the way each implementation can."""

    renderer: Renderer
    go_down: Callable[[], object]  # every render fails, the health probe's too: an outage
    come_back: Callable[[], object]
    fail_once: Callable[[str], object]  # that truck's next invoice fails; the renderer is healthy

    def run(self, scenario: Callable[[Renderer], Awaitable[None]]) -> None:
        async def main() -> None:
            await self.renderer.start()
            try:
                await scenario(self.renderer)
            finally:
                await self.renderer.stop()
        asyncio.run(main())


def fake_subject() -> Subject:
    fake = FakeRenderer()

    def go_down() -> None:
        fake.fail_with = RenderFailed("renderer down")

    def come_back() -> None:
        fake.fail_with = None

    def fail_once(truck_id: str) -> None:
        fake.raise_next.append(RenderFailed(f"{truck_id}'s invoice breaks the PDF library"))

    return Subject(fake, go_down, come_back, fail_once)


def pool_subject(fault: Path) -> Subject:
    pool = RendererPool(workers=1, timeout_s=10, recycle_after=100, fault_file=str(fault))
    return Subject(pool, go_down=lambda: fault.write_text("fail"),
                   come_back=lambda: fault.unlink(missing_ok=True),
                   fail_once=lambda truck_id: fault.write_text(f"fail {truck_id} 1"))


@pytest.fixture(params=["fake", "pool"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    yield fake_subject() if request.param == "fake" else pool_subject(tmp_path / "render-fault")


def text_of_one_page_pdf(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


class TestRendererContract:
    def test_a_render_returns_a_one_page_pdf_showing_that_invoice(self, subject: Subject) -> None:
        first = route_invoice("TRUCK-1")
        second = route_invoice("TRUCK-2", invoice_number="LF-2026-SECONDONE")

        async def scenario(renderer: Renderer) -> None:
            first_text = text_of_one_page_pdf(await renderer.render(first))
            second_text = text_of_one_page_pdf(await renderer.render(second))
            assert first.invoice_number in first_text and "SECONDONE" not in first_text
            assert "LF-2026-SECONDONE" in second_text and first.invoice_number not in second_text

        subject.run(scenario)

    def test_the_same_invoice_renders_to_the_same_bytes(self, subject: Subject) -> None:
        async def scenario(renderer: Renderer) -> None:
            assert await renderer.render(route_invoice()) == await renderer.render(route_invoice())

        subject.run(scenario)

    def test_while_the_renderer_is_down_renders_fail_and_healthy_is_false(
            self, subject: Subject) -> None:
        async def scenario(renderer: Renderer) -> None:
            assert await renderer.healthy()
            subject.go_down()
            with pytest.raises(RenderFailed):
                await renderer.render(route_invoice())
            assert not await renderer.healthy()
            assert not await renderer.healthy()
            subject.come_back()
            assert await renderer.healthy()
            assert text_of_one_page_pdf(await renderer.render(route_invoice()))
            stats = renderer.stats()
            # Health probes are renders: 2 good probes + 1 good render; 1 render + 2 probes failed.
            assert (stats["rendered"], stats["failed"]) == (3, 3)

        subject.run(scenario)

    def test_one_failing_invoice_leaves_the_renderer_healthy(self, subject: Subject) -> None:
        async def scenario(renderer: Renderer) -> None:
            subject.fail_once("TRUCK-BAD")
            assert await renderer.healthy()  # the breaker's probe: the renderer is fine
            with pytest.raises(RenderFailed):
                await renderer.render(route_invoice("TRUCK-BAD"))
            assert text_of_one_page_pdf(await renderer.render(route_invoice("TRUCK-BAD")))

        subject.run(scenario)

    def test_stats_have_one_shape_and_count_what_was_rendered(self, subject: Subject) -> None:
        async def scenario(renderer: Renderer) -> None:
            for i in range(3):
                await renderer.render(route_invoice(f"TRUCK-{i}"))
            stats = renderer.stats()
            assert set(stats) == RenderStats.__required_keys__
            assert set(stats["render_seconds"]) == HistogramSnapshot.__required_keys__
            assert all(type(v) is int for k, v in stats.items() if k != "render_seconds")
            assert (stats["rendered"], stats["failed"], stats["timeouts"], stats["crashes"]) == (
                3, 0, 0, 0)
            assert stats["alive"] == stats["workers"] == 1
            hist = stats["render_seconds"]
            assert hist["buckets"] == list(DURATION_BUCKETS)
            assert sum(hist["counts"]) == hist["count"] == 3
            assert panels.renderer_view(stats)["renderSeconds"]["buckets"][-1] == {
                "le": "+Inf", "count": 3}

        subject.run(scenario)

    def test_start_and_stop_are_idempotent_and_a_stopped_renderer_fails_renders(
            self, subject: Subject) -> None:
        async def main() -> None:
            renderer = subject.renderer
            await renderer.start()
            await renderer.start()
            assert text_of_one_page_pdf(await renderer.render(route_invoice()))
            await renderer.stop()
            await renderer.stop()
            assert renderer.stats()["alive"] == 0
            with pytest.raises(RenderCrashed):
                await renderer.render(route_invoice())
            assert not await renderer.healthy()
            with pytest.raises(RuntimeError, match="cannot be restarted"):
                await renderer.start()

        asyncio.run(main())
