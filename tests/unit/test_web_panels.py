"""The stats page's read models, from plain table values."""

from __future__ import annotations

import copy
from typing import Any

from logiflow.adapters.render_stats import RenderStats, no_renders
from logiflow.domain.dlq.index import Entry, apply_record
from logiflow.domain.dlq.records import Failure, build_record
from logiflow.domain.invoice import invoice_id_for
from logiflow.domain.model import SourceRecord
from logiflow.processing.metrics import HistogramSnapshot
from logiflow.web import panels

ROUTES = {
    "TR-1": {"truckId": "TR-1", "routes": 2, "km": 100.5, "lastDestination": "Munich",
             "eta": "2026-11-20T10:00:00Z", "lastEventTime": 5, "recent": [{"routeId": "r"}]},
    "TR-2": {"truckId": "TR-2", "routes": 1, "km": 10.0, "lastDestination": "Berlin", "recent": []},
}
INVOICES = {
    "TR-1": {"truckId": "TR-1", "invoices": 2, "revenue": "250.10", "currency": "EUR", "recent": []},
    "TR-3": {"truckId": "TR-3", "invoices": 1, "revenue": "9.90", "currency": "EUR", "recent": []},
}


def test_truck_search_matches_id_or_destination_in_any_case() -> None:
    rows, matched = panels.search_trucks(ROUTES, INVOICES, None, 10)
    assert [r["truckId"] for r in rows] == ["TR-1", "TR-2", "TR-3"] and matched == 3
    assert "recentRoutes" not in rows[0]
    rows, _ = panels.search_trucks(ROUTES, INVOICES, "munich", 10)
    assert [r["truckId"] for r in rows] == ["TR-1"]
    rows, matched = panels.search_trucks(ROUTES, INVOICES, "tr-", 2)
    assert len(rows) == 2 and matched == 3


def truck_values() -> tuple[dict[str, Any], dict[str, Any]]:
    inv = invoice_id_for("rc-1")
    routes = {"truckId": "TR-1", "routes": 1, "km": 100.0, "lastDestination": "Berlin",
              "eta": "2026-11-27T00:18:29Z", "lastEventTime": 1000, "lastOffset": 0,
              "recent": [{"eventId": "rc-1", "destination": "Berlin"}]}
    invoices = {"truckId": "TR-1", "invoices": 2, "revenue": "207.77", "currency": "EUR",
                "lastInvoiceTime": 5000, "recent": [{"invoiceId": inv, "gross": "200.00"},
                                                    {"invoiceId": "INV-bad", "gross": "7.77"}]}
    return routes, invoices


def test_the_truck_view_merges_routes_and_invoices_and_links_each_valid_invoice() -> None:
    routes, invoices = truck_values()
    view = panels.truck_view("TR-1", routes, invoices)
    assert view["truckId"] == "TR-1"
    assert (view["routes"], view["km"], view["lastDestination"]) == (1, 100.0, "Berlin")
    assert (view["invoices"], view["revenue"], view["currency"]) == (2, "207.77", "EUR")
    assert view["lastEventTime"] == 5000  # the invoice is the later of the two
    assert view["recentRoutes"] == routes["recent"]
    assert [i["downloadUrl"] for i in view["recentInvoices"]] == [
        f"/invoices/{invoice_id_for('rc-1')}.pdf", None]
    assert "lastOffset" not in view and "recent" not in view


def test_the_truck_view_copies_what_it_reads_from_the_tables() -> None:
    routes, invoices = truck_values()
    before = copy.deepcopy((routes, invoices))
    view = panels.truck_view("TR-1", routes, invoices)
    view["recentRoutes"][0]["eventId"] = "changed"
    view["recentInvoices"][0]["gross"] = "changed"
    assert (routes, invoices) == before


def test_a_truck_known_only_from_invoices_still_has_a_view() -> None:
    _, invoices = truck_values()
    view = panels.truck_view("TR-1", None, invoices)
    assert view["truckId"] == "TR-1"
    assert (view["routes"], view["km"], view["eta"], view["recentRoutes"]) == (0, 0.0, None, [])
    assert view["revenue"] == "207.77"


def test_a_truck_without_values_is_named_by_its_key_and_empty() -> None:
    view = panels.truck_view("TR-9", None, None)
    assert view["truckId"] == "TR-9" and view["lastEventTime"] is None
    assert (view["routes"], view["invoices"], view["revenue"]) == (0, 0, "0.00")


def test_totals_sum_the_tables_and_keep_revenue_exact() -> None:
    t = panels.totals(ROUTES.values(), INVOICES.values(), "EUR")
    assert t == {"trucks": 3, "routes": 3, "km": 110.5, "invoices": 3, "revenue": "260.00",
                 "currency": "EUR", "revenueByCurrency": {"EUR": "260.00"}}


def test_recent_invoices_are_newest_first_and_only_valid_ids_get_a_download_link() -> None:
    a, b = invoice_id_for("a"), invoice_id_for("b")
    rows = panels.recent_invoices([(a, {"issuedAt": 1}), (b, {"issuedAt": 2}),
                                   ("../etc/passwd", {"issuedAt": 3})], 10)
    assert [r["invoiceId"] for r in rows] == ["../etc/passwd", b, a]
    assert rows[0]["downloadUrl"] is None and rows[1]["downloadUrl"] == f"/invoices/{b}.pdf"


def test_rate_series_fills_missing_seconds_with_zeros() -> None:
    s = panels.rate_series({"calculate_routes": [[98, 3], [100, 1]]}, ["generate_invoices"], 4, 100)
    assert s["series"] == {"calculate_routes": [0, 3, 0, 1], "generate_invoices": [0, 0, 0, 0]}
    assert (s["startS"], s["endS"]) == (97, 100)


def test_latency_percentiles_are_bucket_bounds() -> None:
    snap = {"buckets": [0.1, 1.0], "counts": [8, 1, 1], "sum": 3.0, "count": 10}
    summary = panels.latency_summary(snap, 0.5)
    assert (summary["p50S"], summary["p95S"], summary["meanS"]) == (0.1, None, 0.3)
    assert panels.latency_summary({"buckets": [1.0], "counts": [0, 0], "sum": 0, "count": 0},
                                  None)["p50S"] is None


def test_latency_buckets_are_per_bucket_and_the_renderer_buckets_cumulative() -> None:
    snap: HistogramSnapshot = {"buckets": [0.1, 1.0], "counts": [8, 1, 1], "sum": 3.0, "count": 10}
    assert panels.latency_summary(snap, None)["buckets"] == [
        {"le": "0.1", "count": 8}, {"le": "1", "count": 1}, {"le": "+Inf", "count": 1}]
    stats: RenderStats = {**no_renders(), "rendered": 10, "workers": 2, "alive": 1,
                          "render_seconds": snap}
    view = panels.renderer_view(stats)
    assert view["renderSeconds"] == {"buckets": [{"le": "0.1", "count": 8}, {"le": "1", "count": 9},
                                                 {"le": "+Inf", "count": 10}], "sum": 3.0, "count": 10}
    assert (view["rendered"], view["workers"], view["alive"]) == (10, 2, 1)
    assert "render_seconds" not in view
    assert panels.renderer_health(stats) == {"workers": 2, "alive": 1}


def test_lag_is_highwater_minus_the_next_offset_to_read() -> None:
    assert panels.lag_row("t", 0, 10, 4, 6)["lag"] == 3  # read up to offset 6
    assert panels.lag_row("t", 0, 10, 4, None)["lag"] == 6  # only the commit is known
    assert panels.lag_row("t", 0, 10, None, None)["lag"] is None
    assert panels.lag_row("t", 0, 0, None, None)["lag"] == 0  # empty partition


def dlq_entry(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Entry:
    """A ``dlq-entries`` value as the index folds it from a failure record."""
    source = SourceRecord("routing.events", 0, 7, None, key, value, headers)
    failure = Failure(source, "logiflow", "generate_invoices", "poison", "invalid-json",
                      "PoisonMessage", "invalid-json: x", "Traceback ...", 1, 1, 2, "0.1.0")
    record = build_record(failure, 1024)
    return apply_record(None, record.headers, record.key, record.value, 0, 3)


def test_dlq_detail_decodes_payload_and_headers_without_interpreting_them() -> None:
    entry = dlq_entry(b"TR-1", b"<script>x</script>", [("trace", b"abc"), ("bin", b"\x00\xff")])
    d = panels.dlq_detail(entry, can_act=True)
    assert (d["id"], d["status"], d["payloadBytes"], d["dlqOffset"]) == (entry["id"], "new", 18, 3)
    assert d["payload"] == {"encoding": "text", "text": "<script>x</script>"}
    assert d["key"] == {"encoding": "text", "text": "TR-1"}
    assert d["headers"] == [{"name": "trace", "encoding": "text", "value": "abc"},
                            {"name": "bin", "encoding": "hex", "value": "00 ff"}]
    assert d["actions"] == {"replay": True, "discard": True}
    assert panels.dlq_detail({**entry, "status": "resolved"}, True)["actions"]["replay"] is False
    assert panels.dlq_detail(entry, can_act=False)["actions"] == {"replay": False, "discard": False}
