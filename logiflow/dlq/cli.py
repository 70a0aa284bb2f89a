"""``logiflow dlq list | show | replay | discard``: investigate and replay dead letters."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from typing import Any

import click

from logiflow import __version__
from logiflow.dlq.operations import DlqOperator, Index, read_index
from logiflow.dlq.views import LIST_HEADER, describe_payload, list_json, list_row, show_text
from logiflow.domain.dlq.index import STATUSES, Entry
from logiflow.domain.dlq.queries import Query, select
from logiflow.domain.model import parse_instant
from logiflow.settings import Settings


def _instant(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} {exc}", param_hint=name) from None


def _query(ids: tuple[str, ...], status: str | None, topic: str | None, error: str | None,
           truck: str | None, since: str | None, until: str | None) -> Query:
    return Query(status=status, topic=topic, error_class=error, truck=truck,
                 since_ms=_instant(since, "--since"), until_ms=_instant(until, "--until"),
                 ids=ids)


def _load(settings: Settings) -> Index:
    try:
        return asyncio.run(read_index(settings))
    except Exception as exc:
        raise click.ClickException(f"could not read the DLQ from {settings.bootstrap_servers}: "
                                   f"{exc!r}") from exc


def _load_entry(settings: Settings, entry_id: str) -> tuple[Index, Entry]:
    index = _load(settings)
    entry = index.entries.get(entry_id)
    if entry is None:
        raise click.ClickException(f"no DLQ entry {entry_id!r}")
    return index, entry


def filters(f: Any) -> Any:
    for opt in reversed([
        click.option("--status", type=click.Choice(STATUSES), help="Entry status."),
        click.option("--topic", help="Source topic."),
        click.option("--error", "error", help="Error class or reason code."),
        click.option("--truck", help="Truck id (record key)."),
        click.option("--since", help="Last failure at or after (ISO-8601)."),
        click.option("--until", help="Last failure at or before (ISO-8601)."),
    ]):
        f = opt(f)
    return f


@click.group(name="dlq")
def dlq_group() -> None:
    """Investigate, replay and discard dead-lettered messages."""


@dlq_group.command("list")
@filters
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def dlq_list(status: str | None, topic: str | None, error: str | None, truck: str | None,
             since: str | None, until: str | None, limit: int, as_json: bool) -> None:
    """List DLQ entries, newest failure first."""
    settings = Settings.from_env()
    index = _load(settings)
    rows = select(index.entries.values(), _query((), status, topic, error, truck, since, until), limit)
    if as_json:
        for e in rows:
            click.echo(list_json(e))
        return
    click.echo(LIST_HEADER)
    for e in rows:
        click.echo(list_row(e))
    click.echo(f"{len(rows)} of {len(index.entries)} entries", err=True)


@dlq_group.command("show")
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True)
def dlq_show(entry_id: str, as_json: bool) -> None:
    """Show one entry: payload (decoded, or shown safely), headers, traceback, history."""
    settings = Settings.from_env()
    index, entry = _load_entry(settings, entry_id)
    record = index.record_of(entry)
    payload = describe_payload(record.value if record else base64.b64decode(entry["preview"]))
    if as_json:
        click.echo(json.dumps({**entry, "payload": payload}, indent=2, default=str))
        return
    for line in show_text(entry, record, payload):
        click.echo(line)


@dlq_group.command("replay")
@click.argument("entry_ids", nargs=-1)
@filters
@click.option("--apply", is_flag=True, help="Really replay (without it: a dry run).")
@click.option("--limit", type=click.IntRange(min=1), help="Replay at most this many entries.")
@click.option("--rate", type=click.FloatRange(min=0.01), help="At most this many replays per second.")
@click.option("--force", is_flag=True,
              help="Also replay resolved/discarded entries (safe: invoicing is idempotent).")
def dlq_replay(entry_ids: tuple[str, ...], status: str | None, topic: str | None,
               error: str | None, truck: str | None, since: str | None, until: str | None,
               apply: bool, limit: int | None, rate: float | None, force: bool) -> None:
    """Re-publish entries to their original topic (original key, value, headers, timestamp).

    Select entries by id and/or filters. Without filters or ids nothing is selected. Entries at
    the replay cap are parked instead.
    """
    settings = Settings.from_env()
    if not entry_ids and not any((status, topic, error, truck, since, until)):
        raise click.UsageError("name entry ids or at least one filter (e.g. --status new)")
    index = _load(settings)
    missing = [i for i in entry_ids if i not in index.entries]
    if missing:
        raise click.ClickException(f"no DLQ entries {', '.join(missing)}")
    chosen = select(index.entries.values(),
                    _query(entry_ids, status, topic, error, truck, since, until), limit)
    if not chosen:
        click.echo("nothing matches", err=True)
        return
    same = [e["id"] for e in chosen if e["version"] == __version__]
    if same:
        click.echo(f"warning: {len(same)} entr{'y' if len(same) == 1 else 'ies'} failed on this "
                   f"same LogiFlow version ({__version__}); is the fix deployed?", err=True)

    async def run() -> list[Any]:
        async with DlqOperator(settings) as op:
            if not apply or len(chosen) == 1:
                return await op.replay(index, chosen, apply=apply, rate=rate, force=force)
            with click.progressbar(length=len(chosen), label="replaying", file=sys.stderr) as bar:
                return await op.replay(index, chosen, apply=True, rate=rate, force=force,
                                       progress=lambda _o: bar.update(1))

    outcomes = asyncio.run(run())
    for o in outcomes:
        flag = "  [failed on this version]" if o.same_version else ""
        click.echo(f"{o.entry_id}  {o.action:<12} {o.detail}{flag}")
    if not apply:
        click.echo("dry run: nothing was replayed; add --apply to replay", err=True)


@dlq_group.command("discard")
@click.argument("entry_id")
@click.option("--reason", required=True, help="Why this entry needs no replay (kept in history).")
def dlq_discard(entry_id: str, reason: str) -> None:
    """Mark an entry discarded, with a reason."""
    settings = Settings.from_env()
    _index, entry = _load_entry(settings, entry_id)

    async def run() -> None:
        async with DlqOperator(settings) as op:
            await op.discard(entry, reason)

    try:
        asyncio.run(run())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reason") from exc
    click.echo(f"{entry_id} discarded")
