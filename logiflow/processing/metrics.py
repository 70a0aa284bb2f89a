"""In-process counters for the stats page and ``/metrics``. No I/O.

Per agent: processed, dead-lettered (by kind), retries, plus per-second rates over the last
ten minutes. End-to-end latency (route request timestamp → invoice published) as a histogram.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, TypedDict

WINDOW_S = 600
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class HistogramSnapshot(TypedDict):
    """A histogram as plain values; ``web.prom.cumulative_buckets`` turns it into ``le`` rows."""

    buckets: list[float]  # upper bounds, ascending; +Inf is implied
    counts: list[int]  # per bucket, not cumulative; one more than ``buckets`` (above every bound)
    sum: float
    count: int


class Histogram:
    """Counts of observations per bucket (Prometheus-style bounds); the one histogram class."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.total += value
        self.count += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                return
        self.counts[-1] += 1

    def snapshot(self) -> HistogramSnapshot:
        return {"buckets": list(self.buckets), "counts": list(self.counts), "sum": self.total,
                "count": self.count}


class Metrics:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.processed: dict[str, int] = defaultdict(int)
        self.dead_lettered: dict[tuple[str, str], int] = defaultdict(int)
        self.retries: dict[str, int] = defaultdict(int)
        self.duplicates: dict[str, int] = defaultdict(int)
        self.latency = Histogram(LATENCY_BUCKETS)
        self.last_latency_s: float | None = None
        self._rates: dict[str, deque[list[int]]] = defaultdict(deque)

    def _tick(self, agent: str) -> None:
        now = int(self.clock())
        series = self._rates[agent]
        if series and series[-1][0] == now:
            series[-1][1] += 1
        else:
            series.append([now, 1])
        while series and series[0][0] <= now - WINDOW_S:
            series.popleft()

    def mark_processed(self, agent: str) -> None:
        self.processed[agent] += 1
        self._tick(agent)

    def mark_dead_lettered(self, agent: str, kind: str) -> None:
        self.dead_lettered[(agent, kind)] += 1

    def mark_retry(self, agent: str) -> None:
        self.retries[agent] += 1

    def mark_duplicate(self, agent: str) -> None:
        self.duplicates[agent] += 1

    def observe_latency(self, seconds: float) -> None:
        self.last_latency_s = seconds
        self.latency.observe(seconds)

    def rates(self, seconds: int = 300) -> dict[str, list[list[int]]]:
        """Per agent, [second, count] pairs for the last ``seconds`` (zeros filled in)."""
        now = int(self.clock())
        out = {}
        for agent, series in self._rates.items():
            counts = {s: c for s, c in series}
            out[agent] = [[s, counts.get(s, 0)] for s in range(now - seconds + 1, now + 1)]
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "processed": dict(self.processed),
            "deadLettered": {f"{a}:{k}": n for (a, k), n in self.dead_lettered.items()},
            "retries": dict(self.retries),
            "duplicatesSkipped": dict(self.duplicates),
            "latency": self.latency.snapshot(),
            "lastLatencyS": self.last_latency_s,
        }
