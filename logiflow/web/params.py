"""Request parameters → plain values, or :class:`~logiflow.web.errors.BadRequest`. Pure.

Every endpoint names the query parameters it accepts; an unknown or repeated parameter is an
error too (a typo such as ``?stauts=new`` would otherwise silently return everything).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from logiflow.domain.dlq.index import STATUSES
from logiflow.domain.dlq.queries import Query
from logiflow.domain.model import parse_instant
from logiflow.web.errors import BadRequest

MAX_TEXT = 200
DLQ_ID = re.compile(r"dlq-[0-9a-f]{16}")


@dataclass(frozen=True)
class Params:
    """The query string of one request, checked against the names an endpoint accepts."""

    values: Mapping[str, str]

    @classmethod
    def parse(cls, pairs: Iterable[tuple[str, str]], allowed: Iterable[str]) -> Params:
        allowed = set(allowed)
        values: dict[str, str] = {}
        for name, value in pairs:
            if name not in allowed:
                raise BadRequest(f"unknown query parameter {name[:40]!r}", parameter=name[:40],
                                 allowed=sorted(allowed))
            if name in values:
                raise BadRequest(f"query parameter {name!r} given more than once", parameter=name)
            values[name] = value
        return cls(values)

    def text(self, name: str, max_chars: int = MAX_TEXT) -> str | None:
        """A free-text filter; empty means absent."""
        raw = self.values.get(name)
        if raw is None or raw == "":
            return None
        return check_text(name, raw, max_chars)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.values.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"[0-9]{1,9}", raw):
            raise BadRequest(f"{name} must be a whole number from {lo} to {hi}", parameter=name)
        value = int(raw)
        if not lo <= value <= hi:
            raise BadRequest(f"{name} must be from {lo} to {hi}, got {value}", parameter=name)
        return value

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        raw = self.values.get(name)
        if raw is None or raw == "":
            return None
        options = tuple(options)
        if raw not in options:
            raise BadRequest(f"{name} must be one of {', '.join(options)}", parameter=name,
                             allowed=list(options))
        return raw

    def instant_ms(self, name: str) -> int | None:
        """Epoch milliseconds, or an ISO-8601 time (UTC unless it names an offset)."""
        raw = self.values.get(name)
        if raw is None or raw == "":
            return None
        return parse_instant_ms(name, raw)


def check_text(name: str, raw: str, max_chars: int = MAX_TEXT) -> str:
    if len(raw) > max_chars:
        raise BadRequest(f"{name} is longer than {max_chars} characters", parameter=name)
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise BadRequest(f"{name} contains control characters", parameter=name)
    return raw


def parse_instant_ms(name: str, raw: str) -> int:
    """Epoch milliseconds as digits, or an ISO-8601 time (the wire's own parser, any year)."""
    if re.fullmatch(r"[0-9]{1,15}", raw):
        return int(raw)
    try:
        return parse_instant(raw, plausible=False)
    except ValueError:
        raise BadRequest(f"{name} must be epoch milliseconds or an ISO-8601 time",
                         parameter=name) from None


def truck_id(raw: str) -> str:
    """A truck id from a URL path: the same limits as the wire (no blanks, no control chars)."""
    if not raw.strip():
        raise BadRequest("truck id must not be blank", parameter="truck")
    return check_text("truck", raw)


def dlq_entry_id(raw: str) -> str:
    if not DLQ_ID.fullmatch(raw):
        raise BadRequest("not a DLQ entry id (dlq- and 16 hex digits)", parameter="id")
    return raw


@dataclass(frozen=True)
class DlqFilter:
    query: Query
    limit: int


DLQ_PARAMS = ("status", "topic", "errorClass", "truck", "since", "until", "limit")


def dlq_filter(pairs: Iterable[tuple[str, str]]) -> DlqFilter:
    p = Params.parse(pairs, DLQ_PARAMS)
    since, until = p.instant_ms("since"), p.instant_ms("until")
    if since is not None and until is not None and since > until:
        raise BadRequest("since must not be after until", parameter="since")
    query = Query(status=p.choice("status", STATUSES), topic=p.text("topic", 249),
                  error_class=p.text("errorClass"), truck=p.text("truck"),
                  since_ms=since, until_ms=until)
    return DlqFilter(query, p.integer("limit", 100, 1, 1000))


def json_object(body: Any) -> dict[str, Any]:
    """A request body that must be a JSON object (or empty)."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body
