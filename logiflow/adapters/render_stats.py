"""What a renderer reports about itself: the value of ``stats()`` on the renderer port.

:class:`~logiflow.adapters.render_pool.RendererPool` returns it and ``tests.support.fakes.FakeRenderer``
returns the same shape (``tests/unit/test_renderer_contract.py`` checks both). The stats page,
``/api/health`` and ``/metrics`` read it (``logiflow.web.panels.renderer_view``).
"""

from __future__ import annotations

from typing import TypedDict

from logiflow.processing.metrics import HistogramSnapshot

# Prometheus-style upper bounds (seconds) of the render-duration histogram; +Inf is implied.
DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                                       10.0)


class RenderCounts(TypedDict):
    """Counters since the renderer started. Health probes are renders too, and count."""

    rendered: int  # renders that returned a PDF
    failed: int  # the PDF library raised (RenderFailed)
    timeouts: int  # no answer in time; the process was killed (RenderTimeout)
    crashes: int  # the process died mid-render (RenderCrashed)
    recycled: int  # processes retired after their quota of renders (bounds leaks)


class RenderStats(RenderCounts):
    """The counters, the renderer processes, and how long successful renders took."""

    workers: int  # renderer processes configured
    alive: int  # renderer processes running now (0 before start and after stop)
    render_seconds: HistogramSnapshot  # bounds are DURATION_BUCKETS


def no_renders() -> RenderCounts:
    return {"rendered": 0, "failed": 0, "timeouts": 0, "crashes": 0, "recycled": 0}
