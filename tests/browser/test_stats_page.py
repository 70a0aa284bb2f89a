"""Issue 4 acceptance in a real browser: the stats page on a worker running on the real broker.

One worker with an API token serves the module (a second one, without a token, checks the
read-only page). Every test saves screenshots into its artifacts folder.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from logiflow.kafka.local_broker import kafka_version
from tests.browser.conftest import PageWatch
from tests.conftest import ARTIFACTS
from tests.harness import Worker, isolated_env, produce, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TOKEN = "browser-test-token"
XSS = "<img src=x onerror=alert(1)>"


def send(topic: str, records: list[tuple[bytes, bytes]]) -> int:
    """``produce`` on another thread: Playwright's sync API keeps an event loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(produce, topic, records).result(timeout=60)


def request(truck: str, n: str, destination: str = "Munich") -> tuple[bytes, bytes]:
    return truck.encode(), json.dumps({
        "type": "RouteRequested", "requestId": f"req-{n}", "truckId": truck, "customerId": "C-1",
        "origin": "Hamburg", "destination": destination}).encode()


def api(w: Worker, path: str) -> Any:
    with urllib.request.urlopen(w.web + path, timeout=10) as resp:
        return json.loads(resp.read())


def number(shown: str | None) -> int:
    """A counter as the page shows it ("1,234"; a dash before the first update)."""
    digits = (shown or "").replace(",", "").strip()
    return int(digits) if digits.isdigit() else 0


def invoices_of(w: Worker, truck: str) -> int:
    rows = api(w, f"/api/trucks?q={truck}")["trucks"]
    return int(rows[0]["invoices"]) if rows else 0


def text(page: Any, selector: str) -> str:
    return str(page.text_content(selector) or "")


@dataclass
class Stats:
    worker: Worker
    gazetteer: Path


@pytest.fixture(scope="module")
def stats(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stats]:
    root = tmp_path_factory.mktemp("browser")
    gazetteer = root / "extra-places.json"
    w = Worker(isolated_env(root, "browser", LOGIFLOW_API_TOKEN=TOKEN, LOGIFLOW_GAZETTEER_FILE=gazetteer),
               ARTIFACTS / "test_stats_page" / "worker.log")
    try:
        w.start()
        yield Stats(w, gazetteer)
    finally:
        w.kill()


@pytest.fixture(scope="module")
def readonly(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    root = tmp_path_factory.mktemp("browser-readonly")
    w = Worker(isolated_env(root, "browser-ro"), ARTIFACTS / "test_stats_page" / "worker-readonly.log")
    try:
        w.start()
        yield w
    finally:
        w.kill()


def open_page(page: Any, w: Worker, fragment: str = "") -> None:
    page.goto(w.web + "/" + fragment)
    # Polled from here, not with page.wait_for_function: that evaluates a string in the page,
    # which the page's Content Security Policy (no unsafe-eval) rightly refuses.
    worker_id = page.locator("#worker-id")
    wait_for(lambda: (worker_id.text_content() or "").startswith("http"), 15, "the page's first poll")


def test_the_page_loads_and_its_counters_rise_while_events_flow(stats: Stats, page: Any,
                                                                artifacts: Path) -> None:
    w = stats.worker
    open_page(page, w)
    assert page.title() == "LogiFlow"
    assert text(page, "#worker-id") == w.web
    assert text(page, "#mode") == "operations enabled" and page.is_hidden("#readonly-banner")
    start = api(w, "/api/overview")["processed"]["calculate_routes"]
    wait_for(lambda: number(text(page, "#processed-calculate_routes")) == start, 10, "first render")

    seen = [number(text(page, "#total-routes"))]
    batch = 10
    for i in range(3):
        send(w.topic("routing.requests"),
                [request(f"TR-{j % 5:03d}", f"flow-{i}-{j}") for j in range(batch)])
        target = start + batch * (i + 1)
        wait_for(lambda t=target: number(text(page, "#processed-calculate_routes")) >= t, 60,
                 f"the page to count {target} routes without a reload")
        seen.append(number(text(page, "#total-routes")))
        page.screenshot(path=str(artifacts / f"flow-{i + 1}.png"), full_page=True)
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
    wait_for(lambda: number(text(page, "#total-invoices")) >= start + 3 * batch, 60, "invoices counted")
    assert number(text(page, "#processed-generate_invoices")) >= start + 3 * batch
    legend = text(page, "#chart-legend")
    assert "calculate_routes" in legend and "generate_invoices" in legend
    # The chart was drawn from the rate series: some pixel of the canvas is not blank.
    painted = page.evaluate("""() => {
        const c = document.getElementById('rate-chart');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert painted > 1000
    assert page.locator("#breakers li").count() == 2 and "closed" in text(page, "#breakers")
    assert "routing.requests" in text(page, "#lag")
    health = text(page, "#health-list")
    assert "reachable" in health and kafka_version() in health and w.env["LOGIFLOW_APP_ID"] in health
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)


def test_searching_a_truck_shows_its_state(stats: Stats, page: Any, artifacts: Path) -> None:
    w = stats.worker
    send(w.topic("routing.requests"), [request("TR-SEARCH-7", f"s-{n}", "Berlin") for n in range(3)])
    wait_for(lambda: invoices_of(w, "TR-SEARCH-7") == 3, 60, "truck state")
    expected = api(w, "/api/trucks/TR-SEARCH-7")
    open_page(page, w)
    page.fill("#truck-search", "search-7")
    wait_for(lambda: page.locator("#truck-rows tr").count() == 1
             and text(page, "#truck-rows a.truck") == "TR-SEARCH-7", 10, "search result")
    cells = page.locator("#truck-rows tr td").all_text_contents()
    assert (cells[0], cells[1], cells[3], cells[5]) == ("TR-SEARCH-7", "3", "Berlin", "3")
    page.screenshot(path=str(artifacts / "search.png"), full_page=True)

    page.click("#truck-rows a.truck")
    page.wait_for_selector("#truck-page:not([hidden])")
    wait_for(lambda: text(page, "#truck-routes-count") == "3", 10, "truck page")
    assert text(page, "#truck-title") == "TR-SEARCH-7"
    assert text(page, "#truck-destination") == "Berlin"
    assert text(page, "#truck-invoices-count") == "3"
    assert page.locator("#truck-routes tr").count() == 3
    assert page.locator("#truck-invoices a.pdf").count() == 3
    assert f"partition {expected['partition']}" in text(page, "#truck-served")
    page.screenshot(path=str(artifacts / "truck-page.png"), full_page=True)


def test_markup_in_a_truck_id_is_shown_as_text(stats: Stats, page: Any, watch: PageWatch,
                                               artifacts: Path) -> None:
    w = stats.worker
    send(w.topic("routing.requests"), [request(XSS, "xss-1"), (XSS.encode(), b"<b>not json</b>")])
    wait_for(lambda: api(w, "/api/trucks?q=%3Cimg")["matched"] == 1, 60, "the markup truck")
    wait_for(lambda: api(w, "/api/dlq?truck=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")["matched"] == 1,
             60, "its DLQ entry")
    open_page(page, w)
    page.fill("#truck-search", "<img")
    wait_for(lambda: page.locator("#truck-rows a.truck").count() == 1, 10, "search result")
    link = page.locator("#truck-rows a.truck")
    assert link.text_content() == XSS
    assert link.evaluate("a => a.children.length") == 0  # a text node, not an element
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    invoice_trucks = page.locator("#invoice-rows a.truck").all_text_contents()
    assert XSS in invoice_trucks

    page.fill("#dlq-truck", XSS)
    page.click("#dlq-filter button[type=submit]")
    wait_for(lambda: page.locator("#dlq-rows a.entry").count() == 1, 10, "the DLQ row")
    assert page.locator("#dlq-rows td").nth(6).text_content() == XSS
    page.click("#dlq-rows a.entry")
    page.wait_for_selector("#dlq-detail:not([hidden])")
    wait_for(lambda: text(page, "#dlq-key") == XSS, 10, "entry detail")
    assert text(page, "#dlq-payload") == "<b>not json</b>"
    assert page.evaluate("document.querySelectorAll('#dlq-detail b, img').length") == 0
    page.screenshot(path=str(artifacts / "markup-main.png"), full_page=True)

    link = page.locator("#truck-rows a.truck")
    link.click()
    wait_for(lambda: text(page, "#truck-title") == XSS and text(page, "#truck-routes-count") == "1",
             10, "truck page")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    page.screenshot(path=str(artifacts / "markup-truck.png"), full_page=True)
    assert watch.dialogs == [] and watch.errors == []


def select_entry(page: Any, truck: str) -> None:
    page.fill("#dlq-truck", truck)
    page.click("#dlq-filter button[type=submit]")
    wait_for(lambda: page.locator("#dlq-rows a.entry").count() == 1, 20, f"the DLQ row of {truck}")
    page.click("#dlq-rows a.entry")
    wait_for(lambda: not page.is_hidden("#dlq-detail")
             and text(page, "#dlq-detail-id") == text(page, "#dlq-rows a.entry"), 10, "detail")


def history(page: Any) -> list[str]:
    """The actions in the entry's history table, oldest first."""
    return list(page.locator("#dlq-history tr td:nth-child(2)").all_text_contents())


def test_dlq_replay_with_the_token_changes_the_entry_and_discard_discards(
        stats: Stats, page: Any, artifacts: Path) -> None:
    w = stats.worker
    send(w.topic("routing.requests"), [
        request("TR-ATLANTIS", "atl", destination="Atlantis Browser Depot"),
        (b"TR-JUNK", b"{junk"),
        (b"TR-TRASH", b"{trash"),
    ])
    for truck in ("TR-ATLANTIS", "TR-JUNK", "TR-TRASH"):
        wait_for(lambda t=truck: api(w, f"/api/dlq?truck={t}")["matched"] == 1, 60, f"{truck} in the DLQ")
    open_page(page, w)
    wait_for(lambda: number(text(page, "#dlq-depth")) >= 3, 10, "DLQ depth")
    assert "PoisonMessage" in text(page, "#dlq-by-class")

    # A wrong token is refused and changes nothing.
    page.fill("#token", "wrong-token")
    page.click("#token-form button[type=submit]")
    select_entry(page, "TR-ATLANTIS")
    assert text(page, "#dlq-detail-status") == "new"
    page.click("#dlq-replay")
    wait_for(lambda: text(page, "#dlq-action-result") == "Wrong or missing token.", 10, "401 shown")
    assert api(w, "/api/dlq?truck=TR-ATLANTIS")["entries"][0]["replayCount"] == 0

    page.click("#token-forget")
    page.fill("#token", TOKEN)
    page.click("#token-form button[type=submit]")
    assert text(page, "#token-state") == "token set for this tab"
    assert page.evaluate("sessionStorage.getItem('logiflow.apiToken')") == TOKEN
    page.screenshot(path=str(artifacts / "dlq-before-replay.png"), full_page=True)

    # Fix the reference data, replay: the entry is resolved.
    stats.gazetteer.write_text(json.dumps({"places": [
        {"name": "Atlantis Browser Depot", "country": "DE", "lat": 54.3, "lon": 10.1}]}))
    page.click("#dlq-replay")
    wait_for(lambda: text(page, "#dlq-detail-status") == "resolved", 60, "the entry resolved")
    assert history(page) == ["failed", "replayed", "resolved"]
    assert page.is_disabled("#dlq-replay")
    page.screenshot(path=str(artifacts / "dlq-resolved.png"), full_page=True)

    # Invalid JSON fails again after the replay: back to "new", one replay on record.
    select_entry(page, "TR-JUNK")
    page.click("#dlq-replay")
    wait_for(lambda: history(page) == ["failed", "replayed", "failed"], 60, "the replay to fail again")
    assert text(page, "#dlq-detail-status") == "new"
    wait_for(lambda: page.locator("#dlq-rows td").nth(7).text_content() == "1", 10, "replay count")
    page.screenshot(path=str(artifacts / "dlq-replayed-failed-again.png"), full_page=True)

    # Discard with a reason.
    select_entry(page, "TR-TRASH")
    page.fill("#dlq-discard-reason", "browser test: junk")
    page.click("#dlq-discard")
    wait_for(lambda: text(page, "#dlq-detail-status") == "discarded", 60, "the entry discarded")
    assert page.is_disabled("#dlq-discard") and page.is_disabled("#dlq-replay")
    assert "browser test: junk" in text(page, "#dlq-history")
    page.screenshot(path=str(artifacts / "dlq-discarded.png"), full_page=True)


def test_an_invoice_link_downloads_a_pdf(stats: Stats, page: Any, artifacts: Path) -> None:
    w = stats.worker
    send(w.topic("routing.requests"), [request("TR-PDF", "pdf-1")])
    wait_for(lambda: invoices_of(w, "TR-PDF") == 1, 60, "the invoice")
    open_page(page, w)
    wait_for(lambda: page.locator("#invoice-rows a.pdf").count() > 0, 10, "invoice links")
    link = page.locator("#invoice-rows a.pdf").first
    href = link.get_attribute("href")
    with page.expect_download() as info:
        link.click()
    download = info.value
    saved = artifacts / download.suggested_filename
    download.save_as(saved)
    assert href == f"/invoices/{saved.stem}.pdf" and saved.name.startswith("INV-")
    assert saved.read_bytes().startswith(b"%PDF-")
    page.screenshot(path=str(artifacts / "invoices.png"), full_page=True)


def test_a_worker_without_a_token_shows_a_read_only_page(readonly: Worker, page: Any,
                                                        artifacts: Path) -> None:
    w = readonly
    send(w.topic("routing.requests"), [(b"TR-RO", b"{nope")])
    wait_for(lambda: api(w, "/api/dlq")["matched"] == 1, 60, "a DLQ entry")
    open_page(page, w)
    wait_for(lambda: text(page, "#mode") == "read-only", 10, "read-only mode")
    assert page.is_visible("#readonly-banner") and "Read-only" in text(page, "#readonly-banner")
    assert page.is_hidden("#token-form")
    select_entry(page, "TR-RO")
    assert page.is_hidden("#dlq-replay") and page.is_hidden("#dlq-discard")
    assert page.is_disabled("#dlq-replay")
    page.screenshot(path=str(artifacts / "read-only.png"), full_page=True)
