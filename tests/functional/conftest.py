"""Faust test agents (``agent.test_context()``) with in-memory tables and recording fakes.

No broker: the app is configured with ``memory://`` tables by tests/conftest.py, and the
runtime's publisher, renderer and store are swapped for the fakes in tests/fakes.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fakes import FakeInvoiceStore, FakeRenderer, RecordingPublisher


@dataclass
class Fakes:
    publisher: RecordingPublisher
    renderer: FakeRenderer
    store: FakeInvoiceStore


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    from agents import invoicing, routing
    from logiflow.app import app, runtime
    from tables.dead_letters import dlq_entries
    from tables.trucks import invoices_issued, truck_invoices, truck_routes

    assert app.conf.store.scheme == "memory", "functional tests must not touch RocksDB"
    f = Fakes(RecordingPublisher(), FakeRenderer(), FakeInvoiceStore())
    monkeypatch.setattr(runtime, "publisher", f.publisher)
    monkeypatch.setattr(runtime, "renderer", f.renderer)
    monkeypatch.setattr(runtime, "store", f.store)
    for guard in (routing.guard, invoicing.guard):
        monkeypatch.setattr(guard, "publisher", f.publisher)
        monkeypatch.setattr(guard, "sleep", _no_sleep)
    monkeypatch.setattr(invoicing.guard, "pause", None)
    monkeypatch.setattr(invoicing.guard, "resume", None)
    for table in (truck_routes, truck_invoices, invoices_issued, dlq_entries):
        table.data.clear()
    yield f


async def _no_sleep(_seconds: float) -> None:
    return None
