"""Bounded logging in an outage: the limiter and the broker watch, with a fake clock."""

from __future__ import annotations

import logging

from logiflow.processing.log_limits import BrokerWatch, RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, level: int = logging.ERROR, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_repeated_third_party_error_passes_once_a_minute_and_says_how_many_were_held() -> None:
    clock = Clock()
    errors: list[str] = []
    limiter = RepeatLimiter(60.0, clock, errors.append)
    msg = "Unable connect to node with id %s: %s"
    passed = []
    for _ in range(800):
        clock.now += 0.125  # exact in binary: 100 s in all
        r = record("aiokafka.conn", msg, logging.ERROR, 1, "refused")
        if limiter.filter(r):
            passed.append(r.getMessage())
    assert len(passed) == 2  # the first, then one a minute later
    assert passed[1].endswith("[479 similar messages held back in the last 60 s]")
    assert len(errors) == 800  # the watch hears of every one


def test_logiflows_own_lines_and_info_lines_always_pass() -> None:
    limiter = RepeatLimiter(60.0, Clock())
    for _ in range(5):
        assert limiter.filter(record("logiflow.processing.failure_policy", "dead-lettering %s"))
        assert limiter.filter(record("aiokafka.consumer", "joined", logging.INFO))


def test_the_watch_says_down_once_reminds_a_minute_later_and_says_when_it_is_back(caplog) -> None:
    clock = Clock()
    watch = BrokerWatch(60.0, clock)
    with caplog.at_level(logging.WARNING, logger="logiflow.processing.log_limits"):
        for _ in range(100):
            clock.now += 1
            watch.unreachable("refused")
        watch.reachable()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("Kafka broker unreachable: refused")
    assert "still unreachable after 60 s" in lines[1]
    assert lines[2] == "Kafka broker reachable again after 99 s"
    assert watch.down_for_s is None
