"""HTTP plumbing for every handler of the stats page and its JSON API.

JSON responses and the mapping of errors to them (:func:`json_endpoint`: every error is JSON
``{"error": ..., "status": ...}``, a bad parameter a 400, never a 500), query and body parsing,
this worker's identity, the bearer-token check of the state-changing endpoints, and answering
per-partition requests from the worker that owns the partition (:func:`answer_from_owner`, with
the owner found by :mod:`logiflow.web.owners`; a table of another role is owned by a worker of
that role, found in its consumer group by :mod:`logiflow.web.system`).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import aiohttp
from aiokafka.errors import KafkaError
from faust.web import Request, Response, View
from yarl import URL

from logiflow import __version__
from logiflow.app import app
from logiflow.roles import AbsentTable
from logiflow.web import params
from logiflow.web.errors import ApiError, BadRequest, ReadOnly, Unauthorized, Unavailable
from logiflow.web.owners import HOP_HEADER, Decision, decide
from logiflow.web.worker import system

log = logging.getLogger(__name__)

Json = dict[str, Any]
Handler = Callable[..., Awaitable[Any]]

API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
FORWARD_TIMEOUT_S = 5.0
MAX_BODY_BYTES = 16 * 1024


def json_response(view: View, body: Any, status: int = 200, **headers: str) -> Response:
    return view.json(body, status=status, headers={**API_HEADERS, **headers})


def json_endpoint(fun: Handler) -> Handler:
    """Turns a handler's dict into a JSON response and every error into a JSON error."""

    @wraps(fun)
    async def handler(view: View, request: Request, **kwargs: Any) -> Response:
        try:
            result = await fun(view, request, **kwargs)
        except ApiError as exc:
            extra = {"WWW-Authenticate": 'Bearer realm="logiflow"'} if exc.status == 401 else {}
            if exc.status == 503:
                extra["Retry-After"] = "1"
            return json_response(view, exc.body(), exc.status, **extra)
        except (KafkaError, TimeoutError) as exc:
            log.warning("web: %s %s: Kafka unavailable: %r", request.method, request.rel_url.path, exc)
            return json_response(view, {"error": f"Kafka unavailable: {type(exc).__name__}",
                                        "status": 503}, 503, **{"Retry-After": "1"})
        except Exception:
            log.exception("web: %s %s failed", request.method, request.rel_url.path)
            return json_response(view, {"error": "internal error (see the worker log)",
                                        "status": 500}, 500)
        if isinstance(result, dict | list):
            return json_response(view, result)
        return result

    return handler


def query(request: Request, *allowed: str) -> params.Params:
    """The query parameters, refusing any not in ``allowed`` (400)."""
    return params.Params.parse(request.rel_url.query.items(), allowed)


async def request_json(request: Request) -> Json:
    """The request body as a JSON object (an empty body is ``{}``)."""
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    if not raw.strip():
        return {}
    try:
        return params.json_object(json.loads(raw))
    except ValueError:
        raise BadRequest("the request body is not valid JSON") from None


# --- this worker ---------------------------------------------------------------------------

def me() -> str:
    """This worker's URL, as the other workers know it (``LOGIFLOW_ADVERTISED_URL``)."""
    return str(app.conf.canonical_url)


def worker_info() -> Json:
    return {"workerId": me(), "appId": app.conf.id, "url": me(), "pid": os.getpid(),
            "version": __version__, "role": app.settings.role, "group": app.conf.id}


def read_only() -> bool:
    return not app.deps.settings.api_token


def require_token(request: Request) -> None:
    """Refuse the request unless it carries this worker's bearer token (403 when none is set)."""
    token = app.deps.settings.api_token
    if not token:
        raise ReadOnly("read-only: no LOGIFLOW_API_TOKEN is set on this worker, so replay and "
                       "discard are disabled", readOnly=True)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("missing or wrong bearer token")


# --- the worker that owns the data ---------------------------------------------------------

def held(table: Any) -> bool:
    """Whether this worker's role runs ``table`` (else it is an AbsentTable: ask its role)."""
    return not isinstance(table, AbsentTable)


def owns(table: Any, partition: int) -> bool:
    """Whether this worker answers for ``table``'s ``partition`` itself."""
    if not held(table):
        return False
    topic = table.changelog_topic.get_topic_name()
    return decide(app.router.table_metadata(table.name), topic, partition, me(), None).action == "local"


async def locate(request: Request, table: Any, partition: int) -> Decision:
    """Where ``table``'s ``partition`` is answered: here, by a worker of this group (Faust's
    assignor metadata) or by a worker of the table's role (its consumer group, from Kafka)."""
    topic = table.changelog_topic.get_topic_name()
    hop = request.headers.get(HOP_HEADER)
    if held(table):
        return decide(app.router.table_metadata(table.name), topic, partition, me(), hop)
    decision = decide(await system.distribution(table.role, topic), topic, partition, me(), hop)
    if decision.action == "local":  # no metadata: no worker of that role is up
        return Decision("unavailable", None, f"no {table.role} worker holds {table.name} "
                                             f"partition {partition}")
    return decision


async def answer_from_owner(view: View, request: Request, table: Any, partition: int,
                            local: Callable[[], Awaitable[Any]]) -> Any:
    """Answer locally if this worker owns ``table``'s ``partition``, else forward to the owner."""
    decision = await locate(request, table, partition)
    if decision.action == "local":
        result = await local()
        if isinstance(result, dict):
            result = {**result, "servedBy": decision.url or me()}
        return result
    if decision.action == "unavailable" or decision.url is None:
        raise Unavailable(decision.reason, partition=partition)
    target = URL(str(URL(decision.url).origin()) + request.rel_url.raw_path_qs, encoded=True)
    try:
        async with app.http_client.get(
                target, headers={HOP_HEADER: me(), "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)) as resp:
            body = await resp.read()
            return view.bytes(body, content_type=resp.content_type, status=resp.status,
                              headers=dict(API_HEADERS))
    except (aiohttp.ClientError, TimeoutError) as exc:
        system.invalidate()
        raise Unavailable(f"the owner {decision.url} did not answer: {type(exc).__name__}",
                          partition=partition, owner=decision.url) from exc


async def value_from_owner(request: Request, table: Any, partition: int, path: str,
                           local: Callable[[], Awaitable[Json]]) -> Json:
    """``local()`` if this worker owns ``table``'s ``partition``, else the owner's JSON answer
    at ``path`` (a 404 there is ``{}``). Raises :class:`Unavailable` when no owner answers."""
    decision = await locate(request, table, partition)
    if decision.action == "local":
        return {**await local(), "servedBy": me()}
    if decision.action == "unavailable" or decision.url is None:
        raise Unavailable(decision.reason, partition=partition)
    try:
        async with app.http_client.get(
                URL(decision.url).origin().with_path(path),
                headers={HOP_HEADER: me(), "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)) as resp:
            if resp.status == 404:
                return {"servedBy": decision.url}
            if resp.status != 200:
                raise Unavailable(f"the owner {decision.url} answered {resp.status}",
                                  partition=partition, owner=decision.url)
            body = await resp.json()
            return body if isinstance(body, dict) else {}
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        system.invalidate()
        raise Unavailable(f"the owner {decision.url} did not answer: {type(exc).__name__}",
                          partition=partition, owner=decision.url) from exc
