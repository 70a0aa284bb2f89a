"""How DLQ entries read to a person: payloads shown safely, the ``logiflow dlq`` text. Pure.

A payload is never executed or rendered as markup: it is shown as decoded JSON, as text, or as
hex. The web panels (:mod:`logiflow.web.panels`) use :func:`describe_payload` too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from logiflow.domain.dlq.headers import H_STACKTRACE
from logiflow.domain.dlq.index import PREVIEW_BYTES, Entry
from logiflow.domain.model import SourceRecord

LIST_HEADER = (f"{'ID':<20} {'STATUS':<9} {'TOPIC':<22} {'KIND':<10} {'REASON':<18} {'TRUCK':<14} "
               f"{'TRIES':>5} {'REPLAYS':>7}  LAST FAILURE")


def describe_payload(raw: bytes) -> dict[str, Any]:
    """A safe view of a payload: decoded JSON, or text, or hex for binary."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"encoding": "hex", "text": raw[:PREVIEW_BYTES].hex(" ")}
    try:
        return {"encoding": "json", "json": json.loads(text)}
    except ValueError:
        return {"encoding": "text", "text": text[:PREVIEW_BYTES]}


def when(ms: int | None) -> str:
    """Epoch ms as UTC ``YYYY-MM-DD HH:MM:SS``; ``-`` when unknown."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def list_row(e: Entry) -> str:
    """An entry as one line under :data:`LIST_HEADER`."""
    return (f"{e['id']:<20} {e['status']:<9} {e['sourceTopic'][:22]:<22} "
            f"{e['kind']:<10} {e['reason'][:18]:<18} "
            f"{(e['truckId'] or '-')[:14]:<14} {e['attempts']:>5} "
            f"{e['replayCount']:>7}  {when(e['lastFailure'])}")


def list_json(e: Entry) -> str:
    """An entry as one JSON line, without its bulky traceback and payload preview."""
    return json.dumps({k: v for k, v in e.items() if k not in ("stacktrace", "preview")})


def show_text(entry: Entry, record: SourceRecord | None, payload: dict[str, Any]) -> list[str]:
    """One entry in full: payload (``describe_payload``), headers, traceback, history."""
    lines = [
        f"entry     {entry['id']}  status={entry['status']}  replays={entry['replayCount']}",
        f"source    {entry['sourceTopic']} partition {entry['sourcePartition']} "
        f"offset {entry['sourceOffset']}  key={entry['truckId']!r}",
        f"failure   {entry['kind']}: {entry['reason']}  ({entry['errorClass']}) after "
        f"{entry['attempts']} attempt(s); first {when(entry['firstFailure'])}, "
        f"last {when(entry['lastFailure'])}; LogiFlow {entry['version']}",
        f"message   {entry['errorMessage']}",
        f"payload   ({payload['encoding']}, {entry['valueSize']} bytes"
        f"{', TRUNCATED' if entry['truncated'] else ''})",
    ]
    body = json.dumps(payload["json"], indent=2) if payload["encoding"] == "json" else payload["text"]
    lines.append("  " + body.replace("\n", "\n  "))
    if record is not None:
        lines.append("headers")
        lines += [f"  {k}: {v.decode('utf-8', 'replace')[:200]}" for k, v in record.headers
                  if k != H_STACKTRACE]
    lines.append("traceback")
    lines.append("  " + entry["stacktrace"].rstrip().replace("\n", "\n  "))
    lines.append("history")
    lines += [f"  {when(h['at'])}  {h['action']:<10} by {h['by']}  {h['detail']}"
              for h in entry["history"]]
    return lines
