"""Recording fakes for the adapters: same semantics as the real ones, no processes, no disk."""

from __future__ import annotations

import threading
from pathlib import Path

from logiflow.adapters.invoice_store import SUFFIX, check_invoice_id
from logiflow.domain.invoice import Invoice, is_invoice_id


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

    def read(self, invoice_id: str) -> bytes | None:
        """Test helper: the stored bytes (the real store's equivalent is reading get_path)."""
        return self.blobs.get(invoice_id)


class FakeRenderer:
    """Stands in for :class:`~logiflow.adapters.render_pool.RendererPool` (async API).

    Records every invoice in ``rendered`` and returns ``b"%PDF-fake " + invoice_id``. To make it
    fail, set ``fail_with`` (every call raises, and ``healthy()`` is False) or append exceptions
    to ``raise_next`` (one per call, in order).
    """

    def __init__(self) -> None:
        self.rendered: list[Invoice] = []
        self.fail_with: Exception | None = None
        self.raise_next: list[Exception] = []
        self.health_checks = 0
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def render(self, invoice: Invoice) -> bytes:
        self.rendered.append(invoice)
        if self.raise_next:
            raise self.raise_next.pop(0)
        if self.fail_with is not None:
            raise self.fail_with
        return b"%PDF-fake " + invoice.invoice_id.encode("ascii")

    async def healthy(self) -> bool:
        self.health_checks += 1
        return self.fail_with is None

    def stats(self) -> dict[str, object]:
        return {"rendered": len(self.rendered), "workers": 1}


class RecordingPublisher:
    """A :class:`logiflow.failures.Publisher` that records what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.fail_with: BaseException | None = None

    async def send(self, topic: str, key: bytes | None, value: bytes, *,
                   headers: list[tuple[str, bytes]] | None = None,
                   timestamp_ms: int | None = None, wait: bool = False) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append({"topic": topic, "key": key, "value": value, "headers": headers or [],
                          "timestamp_ms": timestamp_ms, "wait": wait})

    def to(self, topic: str) -> list[dict[str, object]]:
        return [m for m in self.sent if m["topic"] == topic]
