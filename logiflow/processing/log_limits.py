"""Bounded logging while a dependency is down: one clear line, then a reminder a minute.

With the broker unreachable, aiokafka logs every failed connection attempt of every client
(thousands a minute); Faust and mode add their own retries. :class:`RepeatLimiter` lets the
first record of each kind through and then at most one per ``interval_s``, saying how many it
held back. It only touches third-party loggers (aiokafka, faust, mode, kafka): LogiFlow's own
lines (every dead-lettered message, every breaker change) always pass.

:class:`BrokerWatch` says once, in LogiFlow's words, that the broker is unreachable, reminds at
most once a minute with how long it has been down, and says when it is back. The stats page and
``/api/health`` show the same state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

LIMITED = ("aiokafka", "faust", "mode", "kafka")
log = logging.getLogger(__name__)


class RepeatLimiter(logging.Filter):
    """Lets each (logger, message template) through once per ``interval_s``, counting the rest."""

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 on_connection_error: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self.on_connection_error = on_connection_error
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(LIMITED):
            return True
        if self.on_connection_error is not None and _connection_error(record):
            self.on_connection_error(record.getMessage()[:200])
        key = (record.name, str(record.msg))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} [{held} similar messages held back in the last " \
                         f"{self.interval_s:.0f} s]"
        return True


def _connection_error(record: logging.LogRecord) -> bool:
    text = f"{record.msg} {record.exc_info[1] if record.exc_info else ''}".lower()
    return any(word in text for word in ("connect", "unable to bootstrap", "connection"))


class BrokerWatch:
    """The broker's reachability as the worker sees it, said once and then once a minute."""

    def __init__(self, remind_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.remind_s = remind_s
        self.clock = clock
        self.down_since: float | None = None
        self.last_error: str | None = None
        self._last_said = 0.0

    @property
    def down_for_s(self) -> float | None:
        return None if self.down_since is None else self.clock() - self.down_since

    def unreachable(self, error: str) -> None:
        now = self.clock()
        self.last_error = error
        if self.down_since is None:
            self.down_since, self._last_said = now, now
            log.error("Kafka broker unreachable: %s. Processing waits and resumes by itself "
                      "when the broker is back; nothing is committed meanwhile.", error)
        elif now - self._last_said >= self.remind_s:
            self._last_said = now
            log.error("Kafka broker still unreachable after %.0f s: %s", now - self.down_since, error)

    def reachable(self) -> None:
        if self.down_since is not None:
            log.warning("Kafka broker reachable again after %.0f s", self.clock() - self.down_since)
            self.down_since, self.last_error = None, None
