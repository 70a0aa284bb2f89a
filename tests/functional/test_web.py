"""The web API on the app's own aiohttp application (real HTTP, ephemeral port), memory tables.

The views are registered the way a worker registers them: by Faust's autodiscovery. One event
loop serves the module: aiohttp binds the app's web application to the first loop that runs it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agents import invoicing, routing
from logiflow.app import app
from tables.trucks import truck_invoices, truck_routes
from tests.functional.conftest import Fakes

DOCS = Path(__file__).resolve().parents[2] / "docs" / "web-api.md"
REQUEST = {"requestId": "r1", "truckId": "TR-7", "customerId": "C-1", "origin": "Hamburg",
           "destination": "Munich"}
SEED = {"type": "RouteCalculated", "truckId": "TR-7", "eta": "2026-11-27T10:00:00Z",
        "timestamp": 1_795_735_109_054}


class Web:
    """Feeds agents and sends requests, all on one event loop."""

    def __init__(self, runner: asyncio.Runner) -> None:
        self.runner = runner

    def feed(self, agent: Any, *values: dict[str, Any]) -> None:
        async def go() -> None:
            async with agent.test_context() as test_agent:
                for value in values:
                    await test_agent.put(key=b"TR-7", value=json.dumps(value).encode())

        self.runner.run(go())

    def get(self, path: str) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            async with TestClient(TestServer(app.web.web_app)) as client:
                resp = await client.get(path)
                return resp.status, await resp.json()

        return self.runner.run(go())


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    app.discover()
    with asyncio.Runner() as runner:
        yield Web(runner)


def test_every_documented_endpoint_is_registered_by_autodiscovery(web: Web):
    documented = set(re.findall(r"^\| `(?:GET|POST) ([^ ?`]+)", DOCS.read_text(), re.MULTILINE))
    braces = re.compile(r"\{[^}]*\}")
    registered = {braces.sub("{}", path) for path in app.web.views}
    assert {braces.sub("{}", path) for path in documented} | {"/", "/static/{}"} == registered


def test_the_truck_api_adds_download_links_without_writing_into_the_table(web: Web, fakes: Fakes):
    web.feed(routing.calculate_routes, REQUEST)
    web.feed(invoicing.generate_invoices, SEED, {**SEED, "timestamp": SEED["timestamp"] + 1})
    routes_before = copy.deepcopy(truck_routes["TR-7"])
    invoices_before = copy.deepcopy(truck_invoices["TR-7"])
    assert len(invoices_before["recent"]) == 2

    status, body = web.get("/api/trucks/TR-7")

    assert status == 200, body
    assert [i["downloadUrl"] for i in body["recentInvoices"]] == [
        f"/invoices/{i['invoiceId']}.pdf" for i in invoices_before["recent"]]
    # The memory store hands out the stored value itself: a write into it would change the
    # table with no changelog record.
    assert truck_invoices["TR-7"] == invoices_before
    assert truck_routes["TR-7"] == routes_before
    assert all("downloadUrl" not in i for i in truck_invoices["TR-7"]["recent"])


def test_the_truck_list_and_search_leave_the_tables_as_they_were(web: Web, fakes: Fakes):
    web.feed(routing.calculate_routes, REQUEST)
    web.feed(invoicing.generate_invoices, SEED)
    before = copy.deepcopy((dict(truck_routes.items()), dict(truck_invoices.items())))

    _, listed = web.get("/api/trucks")
    _, found = web.get("/api/trucks?q=munich")

    assert [t["truckId"] for t in listed["trucks"]] == ["TR-7"]
    assert found["matched"] == 1 and found["trucks"] == listed["trucks"]
    assert (dict(truck_routes.items()), dict(truck_invoices.items())) == before
