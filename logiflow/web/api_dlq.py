"""The dead-letter queue panel: list, summary, one entry, and replay and discard.

Reads come from the ``dlq-entries`` table, answered by the worker that owns its one partition.
Replay and discard reuse :mod:`logiflow.dlq.operations`, exactly what ``logiflow dlq replay/discard``
do (over the index folded from Kafka, not the table), and need the bearer token from
``LOGIFLOW_API_TOKEN`` (none set: read-only, 403). Fields: ``docs/web-api.md``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from faust.web import Request, View
from yarl import URL

from logiflow.app import app
from logiflow.dlq.operations import DlqOperator, Index, read_index
from logiflow.domain import dlq
from logiflow.web import panels, params
from logiflow.web.errors import BadRequest, Conflict, NotFound
from logiflow.web.http import (
    Json,
    answer_from_owner,
    json_endpoint,
    me,
    query,
    read_only,
    request_json,
    require_token,
)
from tables.dead_letters import dlq_entries

INDEX_TIMEOUT_S = 20.0


def from_index_owner(view: View, request: Request, local: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
    return answer_from_owner(view, request, dlq_entries, 0, local)


@app.page("/api/dlq/summary")
@json_endpoint
async def dlq_summary(self: View, request: Request) -> Any:
    query(request)

    async def local() -> Json:
        return dlq.summary(dlq_entries.values(), int(time.time() * 1000))

    return await from_index_owner(self, request, local)


@app.page("/api/dlq")
@json_endpoint
async def dlq_list(self: View, request: Request) -> Any:
    f = params.dlq_filter(request.rel_url.query.items())

    async def local() -> Json:
        found = dlq.select(dlq_entries.values(), f.query)
        return {"matched": len(found), "entries": [panels.dlq_item(e) for e in found[:f.limit]],
                "readOnly": read_only()}

    return await from_index_owner(self, request, local)


@app.page("/api/dlq/{entry_id}")
@json_endpoint
async def dlq_entry(self: View, request: Request, entry_id: str) -> Any:
    entry_id = params.dlq_entry_id(entry_id)
    query(request)

    async def local() -> Json:
        entry = dlq_entries.get(entry_id)
        if entry is None:
            raise NotFound("no such DLQ entry", id=entry_id)
        return panels.dlq_detail(entry, can_act=not read_only())

    return await from_index_owner(self, request, local)


# --- replay and discard --------------------------------------------------------------------

async def indexed_entry(entry_id: str) -> tuple[Index, dlq.Entry]:
    """The DLQ index folded from Kafka (as the CLI does) and the entry in it."""
    index = await read_index(app.deps.settings, timeout_s=INDEX_TIMEOUT_S)
    entry = index.entries.get(entry_id)
    if entry is None:
        raise NotFound("no such DLQ entry", id=entry_id)
    return index, entry


def operator() -> str:
    """Who the DLQ history says acted: this worker's web server."""
    return f"web@{URL(me()).host}:{URL(me()).port}"


@app.page("/api/dlq/{entry_id}/replay")
class ReplayEntry(View):
    """POST: replay the entry to its source topic (``logiflow dlq replay --apply``)."""

    @json_endpoint
    async def post(self, request: Request, entry_id: str) -> Json:
        require_token(request)
        entry_id = params.dlq_entry_id(entry_id)
        query(request)
        await request_json(request)
        index, entry = await indexed_entry(entry_id)
        async with DlqOperator(app.deps.settings, by=operator()) as op:
            [outcome] = await op.replay(index, [entry], apply=True)
        body = {"id": entry_id, "action": outcome.action, "detail": outcome.detail,
                "replayCount": entry.get("replayCount", 0) + (outcome.action == "replayed")}
        if outcome.action not in ("replayed", "parked"):
            raise Conflict(f"not replayed: {outcome.detail}", **body)
        return body


@app.page("/api/dlq/{entry_id}/discard")
class DiscardEntry(View):
    """POST ``{"reason": "..."}``: mark the entry discarded (``logiflow dlq discard``)."""

    @json_endpoint
    async def post(self, request: Request, entry_id: str) -> Json:
        require_token(request)
        entry_id = params.dlq_entry_id(entry_id)
        query(request)
        body = await request_json(request)
        reason = body.get("reason", "discarded from the web page")
        if not isinstance(reason, str) or not reason.strip():
            raise BadRequest("reason must be a non-empty string", parameter="reason")
        reason = params.check_text("reason", reason.strip(), 500)
        _index, entry = await indexed_entry(entry_id)
        if entry.get("status") == "discarded":
            raise Conflict("already discarded", id=entry_id, action="skipped")
        async with DlqOperator(app.deps.settings, by=operator()) as op:
            await op.discard(entry, reason)
        return {"id": entry_id, "action": "discarded", "detail": reason}
