"""Recording fakes for the adapters: same semantics as the real ones, no processes, no disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path

from logiflow.adapters.invoice_store import SUFFIX, check_invoice_id
from logiflow.adapters.render_child import PROBE_INVOICE
from logiflow.adapters.render_stats import DURATION_BUCKETS, RenderStats, no_renders
from logiflow.domain.invoice import Invoice, is_invoice_id
from logiflow.errors import RenderCrashed, RenderTimeout
from logiflow.processing.metrics import Histogram


class FakeInvoiceStore:
    """In-memory :class:`~logiflow.adapters.invoice_store.InvoiceStore`.

    ``blobs`` holds what was stored, ``calls`` every call as ``(method, invoice_id)``. Set
    ``fail_with`` to an exception (e.g. ``InvoiceStoreError(...)``) to make ``put_if_absent``
    raise it, as a full disk would.
    """

    def __init__(self, root: Path = Path("/fake-invoices")) -> None:
        self.root = root
        self.blobs: dict[str, bytes] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()  # the agent calls the store from worker threads

    def _location(self, invoice_id: str) -> str:
        return str(self.root / f"{invoice_id}{SUFFIX}")

    def put_if_absent(self, invoice_id: str, data: bytes) -> tuple[str, bool]:
        with self._lock:
            self.calls.append(("put_if_absent", invoice_id))
            check_invoice_id(invoice_id)
            if self.fail_with is not None:
                raise self.fail_with
            if invoice_id in self.blobs:
                return self._location(invoice_id), False
            self.blobs[invoice_id] = bytes(data)
            return self._location(invoice_id), True

    def get_path(self, invoice_id: str) -> Path | None:
        with self._lock:
            self.calls.append(("get_path", invoice_id))
            if not isinstance(invoice_id, str) or not is_invoice_id(invoice_id):
                return None
            return Path(self._location(invoice_id)) if invoice_id in self.blobs else None

    def exists(self, invoice_id: str) -> bool:
        with self._lock:
            self.calls.append(("exists", invoice_id))
            return invoice_id in self.blobs

    def count(self) -> int:
        with self._lock:
            return len(self.blobs)

    def sweep(self) -> int:
        return 0  # nothing is ever half-written in memory

    def read(self, invoice_id: str) -> bytes | None:
        """Test helper: the stored bytes (the real store's equivalent is reading get_path)."""
        return self.blobs.get(invoice_id)


class FakeRenderer:
    """Stands in for :class:`~logiflow.adapters.render_pool.RendererPool` (async API).

    ``tests/unit/test_renderer_contract.py`` holds the two to one contract. Records every
    invoice it is asked to render in ``rendered`` (failed calls too, health probes not) and
    returns a real one-page PDF that shows the invoice number (:func:`minimal_pdf`). To make it
    fail, set ``fail_with`` (every call raises it and ``healthy()`` is False: the renderer is
    down) or append exceptions to ``raise_next`` (one per call, in order, while ``healthy()``
    stays True: the message is at fault). ``stats()`` counts as the pool does: a health probe
    is a render. Once stopped, renders raise RenderCrashed and ``healthy()`` is False, as with
    the pool; unlike the pool it works without ``start()`` (functional tests never start it).
    """

    def __init__(self) -> None:
        self.rendered: list[Invoice] = []
        self.fail_with: Exception | None = None
        self.raise_next: list[Exception] = []
        self.health_checks = 0
        self.started = False
        self.stopped = False
        self._counts = no_renders()
        self._durations = Histogram(DURATION_BUCKETS)

    async def start(self) -> None:
        if self.stopped:
            raise RuntimeError("a stopped FakeRenderer cannot be restarted")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def render(self, invoice: Invoice) -> bytes:
        self.rendered.append(invoice)
        if self.stopped:
            raise RenderCrashed("the fake renderer is stopped")
        failure = self.raise_next.pop(0) if self.raise_next else self.fail_with
        return self._attempt(failure, invoice)

    async def healthy(self) -> bool:
        self.health_checks += 1
        if self.stopped:
            return False
        try:
            self._attempt(self.fail_with, PROBE_INVOICE)
        except Exception:
            return False
        return True

    def _attempt(self, failure: Exception | None, invoice: Invoice) -> bytes:
        """One render: raise ``failure`` (counted as the pool counts it) or return the PDF."""
        began = time.perf_counter()
        if failure is not None:
            if isinstance(failure, RenderTimeout):
                self._counts["timeouts"] += 1
            elif isinstance(failure, RenderCrashed):
                self._counts["crashes"] += 1
            else:
                self._counts["failed"] += 1
            raise failure
        pdf = minimal_pdf(f"Invoice {invoice.invoice_number}")
        self._durations.observe(time.perf_counter() - began)
        self._counts["rendered"] += 1
        return pdf

    def stats(self) -> RenderStats:
        return {**self._counts, "workers": 1, "alive": 0 if self.stopped else 1,
                "render_seconds": self._durations.snapshot()}


def minimal_pdf(text: str) -> bytes:
    """A valid one-page A4 PDF showing ``text`` (ASCII) in Helvetica, written by hand."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = f"BT /F1 12 Tf 72 770 Td ({escaped}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.2756 841.8898] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class RecordingPublisher:
    """A :class:`logiflow.processing.failure_policy.Publisher` that records what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.fail_with: BaseException | None = None
        self.fail_ack_with: BaseException | None = None  # send_soon: sent, then not acknowledged
        self.tail_reads: list[tuple[str, int]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes, *,
                   headers: list[tuple[str, bytes]] | None = None,
                   timestamp_ms: int | None = None, wait: bool = False) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append({"topic": topic, "key": key, "value": value, "headers": headers or [],
                          "timestamp_ms": timestamp_ms, "wait": wait})

    async def send_soon(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[None]:
        if self.fail_with is not None:
            raise self.fail_with
        message = {"topic": topic, "key": key, "value": value, "headers": [],
                   "timestamp_ms": None, "wait": "soon"}
        self.sent.append(message)
        failure = self.fail_ack_with

        async def acknowledged() -> None:
            if failure is not None:
                self.sent.remove(message)  # the broker never had it
                raise failure

        return acknowledged()

    def to(self, topic: str) -> list[dict[str, object]]:
        return [m for m in self.sent if m["topic"] == topic]

    async def tails(self, topic: str, partitions: Sequence[int], count: int) -> dict[int, list[bytes]]:
        """:class:`logiflow.ports.EventLog`: what was sent to ``topic`` (every partition: a
        superset of the real tail, which is all the dedupe needs), last ``count`` values."""
        values: list[bytes] = [m["value"] for m in self.to(topic)][-count:]  # type: ignore[misc]
        out = {}
        for partition in partitions:
            self.tail_reads.append((topic, partition))
            out[partition] = values
        return out
