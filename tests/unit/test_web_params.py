"""Request parsing for the web API: every bad parameter is a BadRequest (→ 400), never a crash."""

from __future__ import annotations

import pytest

from logiflow.web import params
from logiflow.web.errors import BadRequest


def test_unknown_and_repeated_parameters_are_refused() -> None:
    with pytest.raises(BadRequest, match="unknown query parameter 'stauts'"):
        params.Params.parse([("stauts", "new")], ["status"])
    with pytest.raises(BadRequest, match="more than once"):
        params.Params.parse([("q", "a"), ("q", "b")], ["q"])


@pytest.mark.parametrize("raw", ["0", "1001", "-1", "abc", "1.5", "1e3", " 5", "9" * 20])
def test_limits_outside_their_range_or_not_whole_numbers_are_refused(raw: str) -> None:
    p = params.Params.parse([("limit", raw)], ["limit"])
    with pytest.raises(BadRequest) as info:
        p.integer("limit", 100, 1, 1000)
    assert info.value.status == 400 and info.value.extra["parameter"] == "limit"


def test_absent_or_empty_parameters_take_their_defaults() -> None:
    p = params.Params.parse([("limit", ""), ("q", "")], ["limit", "q"])
    assert p.integer("limit", 100, 1, 1000) == 100
    assert p.text("q") is None


def test_instants_are_epoch_milliseconds_or_iso_8601() -> None:
    assert params.parse_instant_ms("since", "1795000000000") == 1_795_000_000_000
    assert params.parse_instant_ms("since", "2026-11-20T10:00:00Z") == 1_795_168_800_000
    assert params.parse_instant_ms("since", "2026-11-20T11:00:00+01:00") == 1_795_168_800_000
    assert params.parse_instant_ms("since", "2026-11-20T10:00:00") == 1_795_168_800_000
    for bad in ("yesterday", "2026-13-01", "-5", "1.5"):
        with pytest.raises(BadRequest):
            params.parse_instant_ms("since", bad)


def test_a_filter_bound_may_lie_outside_the_years_a_wire_timestamp_may() -> None:
    # As with epoch digits: "nothing after 2999" is a valid question, it just matches nothing.
    assert params.parse_instant_ms("since", "2999-01-01T00:00:00Z") == 32_472_144_000_000
    assert params.parse_instant_ms("until", "1990-01-01T00:00:00Z") == 631_152_000_000


def test_dlq_filter_builds_the_domain_query() -> None:
    f = params.dlq_filter([("status", "new"), ("topic", "t"), ("errorClass", "PoisonMessage"),
                           ("truck", "TR-1"), ("since", "1"), ("until", "2"), ("limit", "5")])
    assert (f.query.status, f.query.topic, f.query.error_class, f.query.truck) == (
        "new", "t", "PoisonMessage", "TR-1")
    assert (f.query.since_ms, f.query.until_ms, f.limit) == (1, 2, 5)


@pytest.mark.parametrize("pairs", [
    [("status", "open")], [("since", "2"), ("until", "1")], [("limit", "0")],
    [("truck", "x" * 201)], [("topic", "a\x00b")], [("order", "asc")],
])
def test_dlq_filter_refuses_bad_values(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(BadRequest):
        params.dlq_filter(pairs)


def test_path_ids_are_checked() -> None:
    assert params.dlq_entry_id("dlq-0123456789abcdef") == "dlq-0123456789abcdef"
    for bad in ("dlq-0123", "DLQ-0123456789ABCDEF", "../dlq-0123456789abcdef", "summary"):
        with pytest.raises(BadRequest):
            params.dlq_entry_id(bad)
    assert params.truck_id("<img src=x onerror=alert(1)>") == "<img src=x onerror=alert(1)>"
    for bad in (" ", "TR\n1", "x" * 201):
        with pytest.raises(BadRequest):
            params.truck_id(bad)


def test_request_bodies_must_be_json_objects() -> None:
    assert params.json_object(None) == {}
    assert params.json_object({"reason": "x"}) == {"reason": "x"}
    with pytest.raises(BadRequest):
        params.json_object(["reason"])
