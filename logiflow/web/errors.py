"""Errors a web request can end in; each becomes a JSON body ``{"error": ..., ...}``.

Raised by the pure request parsers (:mod:`logiflow.web.params`) and the handlers; the one place
that turns them into responses is :func:`logiflow.web.http.json_endpoint`.
"""

from __future__ import annotations

from typing import Any

from logiflow.errors import LogiflowError


class ApiError(LogiflowError):
    """A request the API refuses, with the HTTP status and extra JSON fields to send."""

    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status, **self.extra}


class BadRequest(ApiError):
    """A parameter is malformed or unknown. Caller: fix the parameter named in the message."""

    status = 400


class Unauthorized(ApiError):
    """Missing or wrong bearer token. Caller: send ``Authorization: Bearer <LOGIFLOW_API_TOKEN>``."""

    status = 401


class ReadOnly(ApiError):
    """No API token is configured, so state-changing endpoints are off.

    Operator: set ``LOGIFLOW_API_TOKEN`` on the worker to enable replay and discard over HTTP.
    """

    status = 403


class NotFound(ApiError):
    """No such truck, invoice or DLQ entry (on the worker that owns it)."""

    status = 404


class Conflict(ApiError):
    """The entry's state does not allow the action (e.g. replaying a resolved entry)."""

    status = 409


class Unavailable(ApiError):
    """The owner of the data is unknown or unreachable right now (rebalance). Caller: retry."""

    status = 503
