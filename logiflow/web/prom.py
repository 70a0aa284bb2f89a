"""Prometheus text exposition format (version 0.0.4), written by hand. Pure.

Small enough not to need ``prometheus_client`` at run time (it stays a test dependency: the
tests parse our output with its parser).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from logiflow.processing.metrics import HistogramSnapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = Mapping[str, str]


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(labels: Labels | None) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items()) + "}"


class Exposition:
    """Collects metric families and renders them in declaration order."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")

    def _sample(self, name: str, labels: Labels | None, value: float) -> None:
        self.lines.append(f"{name}{_labels(labels)} {number(value)}")

    def counter(self, name: str, help_text: str, samples: Iterable[tuple[Labels | None, float]]) -> None:
        """A counter family; ``name`` without the ``_total`` suffix, which samples get.

        The HELP and TYPE lines name the samples (``…_total``), as the 0.0.4 text format and
        ``prometheus_client``'s parser expect; the parser reports the family without the suffix.
        """
        self._family(f"{name}_total", "counter", help_text)
        for labels, value in samples:
            self._sample(f"{name}_total", labels, value)

    def gauge(self, name: str, help_text: str, samples: Iterable[tuple[Labels | None, float]]) -> None:
        self._family(name, "gauge", help_text)
        for labels, value in samples:
            self._sample(name, labels, value)

    def histogram(self, name: str, help_text: str, buckets: Sequence[tuple[str, int]],
                  total: float, count: int, labels: Labels | None = None) -> None:
        """``buckets``: (``le`` label, *cumulative* count) pairs ending with ``+Inf``."""
        self._family(name, "histogram", help_text)
        for le, cumulative in buckets:
            self._sample(f"{name}_bucket", {**(labels or {}), "le": le}, cumulative)
        self._sample(f"{name}_sum", labels, total)
        self._sample(f"{name}_count", labels, count)

    def histogram_of(self, name: str, help_text: str, snapshot: HistogramSnapshot) -> None:
        """A histogram family from a :class:`~logiflow.processing.metrics.Histogram` snapshot."""
        self.histogram(name, help_text, cumulative_buckets(snapshot["buckets"], snapshot["counts"]),
                       snapshot["sum"], snapshot["count"])

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def le_labels(bounds: Sequence[float]) -> list[str]:
    """The ``le`` label of each bucket of a histogram with these upper bounds, then ``+Inf``."""
    return [f"{b:g}" for b in bounds] + ["+Inf"]


def cumulative_buckets(bounds: Sequence[float], counts: Sequence[int]) -> list[tuple[str, int]]:
    """Per-bucket counts (last one = above every bound) → cumulative (``le``, count) pairs.

    The one converter from a :class:`logiflow.processing.metrics.Histogram` snapshot to exposition buckets.
    """
    out, running = [], 0
    for label, count in zip(le_labels(bounds), counts, strict=True):
        running += count
        out.append((label, running))
    return out
