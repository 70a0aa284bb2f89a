"""The side effects the worker depends on, as protocols: the only place they are declared.

Real implementations live in :mod:`logiflow.adapters`; recording fakes in ``tests/support/fakes.py``.
The dependency container (:mod:`logiflow.bootstrap`) wires one of each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Protocol

from logiflow.adapters.render_stats import RenderStats
from logiflow.domain.invoice import Invoice


class Publisher(Protocol):
    """Sends a record to Kafka. ``wait`` returns only after the broker acknowledged it.

    Raises :class:`~logiflow.errors.TransientFailure` when the send fails.
    """

    async def send(self, topic: str, key: bytes | None, value: bytes, *,
                   headers: list[tuple[str, bytes]] | None = None,
                   timestamp_ms: int | None = None, wait: bool = False) -> None: ...

    async def send_soon(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[None]:
        """Send without waiting: the returned awaitable completes when the broker acknowledged
        the record (raising :class:`~logiflow.errors.TransientFailure` if it was not). Records
        sent this way to one partition are acknowledged in the order they were sent."""
        ...


class Renderer(Protocol):
    """Renders an invoice to PDF bytes without blocking the event loop."""

    async def start(self) -> None:
        """Start what the renderer owns (processes). Idempotent."""

    async def stop(self) -> None:
        """Stop it; renders in flight fail. Idempotent."""

    async def render(self, invoice: Invoice) -> bytes:
        """The PDF; raises a :class:`~logiflow.errors.TransientFailure` on failure."""

    async def healthy(self) -> bool:
        """Whether a probe render succeeds now (the circuit breaker asks this)."""

    def stats(self) -> RenderStats:
        """Counters and the render-duration histogram, for the stats page and /metrics."""


class InvoiceStore(Protocol):
    """Invoice PDFs by invoice id, written at most once (create-if-absent, atomic)."""

    def put_if_absent(self, invoice_id: str, data: bytes) -> tuple[str, bool]:
        """Store ``data`` unless the id exists: (location, True if this call created it).

        Atomic. Raises ValueError for a malformed id and InvoiceStoreError if storage fails.
        """

    def get_path(self, invoice_id: str) -> Path | None:
        """The stored file, or None (absent, malformed id, or not safely inside the store)."""

    def exists(self, invoice_id: str) -> bool: ...

    def count(self) -> int: ...

    def sweep(self) -> int:
        """Remove what interrupted writes left behind; how many files. Called at start."""


class EventLog(Protocol):
    """Reads back what was published: the last records of some partitions of a topic."""

    async def tails(self, topic: str, partitions: Sequence[int], count: int) -> dict[int, list[bytes]]:
        """Per partition of ``partitions``: the values of its last ``count`` records of ``topic``
        (oldest first), all read at once.

        Raises :class:`~logiflow.errors.TransientFailure` when the broker cannot be read.
        """
