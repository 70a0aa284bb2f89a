"""Faust test agents (``agent.test_context()``) with in-memory tables and recording fakes.

No broker: the app is configured with ``memory://`` tables by tests/conftest.py, and the app's
whole dependency container (``app.deps``) is swapped for one built on the fakes in
tests/support/fakes.py: one object, fresh per test (its policies and breakers too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from logiflow.bootstrap import Deps, Flow, add_policies
from tests.support.fakes import FakeInvoiceStore, FakeRenderer, RecordingPublisher


@dataclass
class Fakes:
    publisher: RecordingPublisher
    renderer: FakeRenderer
    store: FakeInvoiceStore
    deps: Deps


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    from logiflow.app import app
    from tables.dead_letters import dlq_entries
    from tables.trucks import invoices_issued, truck_invoices, truck_routes

    assert app.conf.store.scheme == "memory", "functional tests must not touch RocksDB"
    real = app.deps
    publisher, renderer, store = RecordingPublisher(), FakeRenderer(), FakeInvoiceStore()
    deps = Deps(settings=real.settings, publisher=publisher, renderer=renderer, store=store,
                routing=real.routing, rates=real.rates, seller=real.seller, event_log=publisher)
    add_policies(deps, Flow(), sleep=_no_sleep)
    monkeypatch.setattr(app, "deps", deps)
    for table in (truck_routes, truck_invoices, invoices_issued, dlq_entries):
        table.data.clear()
    yield Fakes(publisher, renderer, store, deps)


async def _no_sleep(_seconds: float) -> None:
    return None
