"""Our hand-written Prometheus text parses with the reference parser, labels escaped."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from logiflow.web import prom


def families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_counters_gauges_and_histograms_round_trip_through_the_parser() -> None:
    out = prom.Exposition()
    out.counter("x_events", "Events.\nTwo lines.", [({"agent": "a"}, 3), ({"agent": "b"}, 0)])
    out.gauge("x_lag", "Lag.", [({"topic": "t", "partition": "0"}, 7), (None, 1.5)])
    out.histogram("x_seconds", "Durations.", prom.cumulative_buckets((0.1, 1.0), [2, 1, 1]), 3.25, 4)
    parsed = families(out.render())

    events = parsed["x_events"]
    assert events.type == "counter"  # type: ignore[attr-defined]
    assert {(s.labels["agent"], s.value) for s in events.samples} == {("a", 3.0), ("b", 0.0)}  # type: ignore[attr-defined]
    lag = parsed["x_lag"]
    assert [s.value for s in lag.samples] == [7.0, 1.5]  # type: ignore[attr-defined]
    hist = {(s.name, s.labels.get("le")): s.value for s in parsed["x_seconds"].samples}  # type: ignore[attr-defined]
    assert hist[("x_seconds_bucket", "0.1")] == 2
    assert hist[("x_seconds_bucket", "1")] == 3
    assert hist[("x_seconds_bucket", "+Inf")] == 4
    assert hist[("x_seconds_count", None)] == 4 and hist[("x_seconds_sum", None)] == 3.25


def test_a_histogram_snapshot_is_exposed_with_cumulative_buckets() -> None:
    out = prom.Exposition()
    out.histogram_of("y_seconds", "Durations.", {"buckets": [0.1, 1.0], "counts": [2, 1, 1],
                                                "sum": 3.25, "count": 4})
    direct = prom.Exposition()
    direct.histogram("y_seconds", "Durations.", [("0.1", 2), ("1", 3), ("+Inf", 4)], 3.25, 4)
    assert out.render() == direct.render()


def test_label_values_from_events_are_escaped() -> None:
    nasty = 'TR-"1"\\\n<img src=x>'
    out = prom.Exposition()
    out.gauge("x_truck", "Per truck.", [({"truck": nasty}, 1)])
    [sample] = families(out.render())["x_truck"].samples  # type: ignore[attr-defined]
    assert sample.labels["truck"] == nasty


def test_numbers_render_as_prometheus_expects() -> None:
    assert prom.number(3) == "3" and prom.number(True) == "1"
    assert prom.number(math.inf) == "+Inf" and prom.number(math.nan) == "NaN"
    assert prom.number(0.25) == "0.25"
