"""``logiflow roles split-offsets``: move a deployment from role ``all`` to split roles in place.

Workers of split roles join new consumer groups (``<app id>-<role>``, :mod:`logiflow.roles`).
Without committed offsets a new group starts from the earliest offset: every event still in
the topics would be processed again (idempotently, but it takes time). This command copies the
``all`` group's committed offsets of each role's source topic to that role's group, so the
role workers start where the ``all`` workers stopped.

Safe by construction: a dry run unless ``--apply``; a role group that already has a committed
offset for a partition keeps it (never moved back or forth); nothing is committed while a role
group has workers (Kafka would refuse it anyway: only an empty group takes offsets from
outside), so stop every worker first. Tables need nothing: their changelogs keep their names.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import click
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from logiflow import roles
from logiflow.errors import LogiflowError
from logiflow.kafka import security
from logiflow.kafka.groups import read_groups
from logiflow.settings import Settings


class GroupsRunning(LogiflowError):
    """Workers of a role run: Kafka takes offsets only for an empty group. Operator: stop them."""


@dataclass(frozen=True)
class Copy:
    """One partition's offset: what ``all`` committed, what the role's group has, the action."""

    role: str
    group: str
    tp: TopicPartition
    offset: int | None  # the all group's; None: it committed none
    existing: int | None  # the role group's
    action: str  # copy | keep | nothing


def plan(settings: Settings, source: dict[TopicPartition, int],
         existing: dict[str, dict[TopicPartition, int]]) -> list[Copy]:
    """What to copy (pure): every source partition of every role."""
    out = []
    for role in roles.ROLES:
        group = roles.group_id(settings.app_id, role)
        name = roles.SOURCES[role]
        topic = settings.topic(name if name is not None else settings.dlq_topic)
        for p in range(1 if role == roles.DLQ else settings.partitions):
            tp = TopicPartition(topic, p)
            offset, have = source.get(tp), existing.get(group, {}).get(tp)
            action = "keep" if have is not None else "copy" if offset is not None else "nothing"
            out.append(Copy(role, group, tp, offset, have, action))
    return out


def _committed(found: dict[TopicPartition, OffsetAndMetadata]) -> dict[TopicPartition, int]:
    return {tp: om.offset for tp, om in found.items() if om.offset >= 0}


async def split_offsets(settings: Settings, apply: bool) -> list[Copy]:
    client = security.client_kwargs(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **client)
    await admin.start()
    try:
        source = _committed(await admin.list_consumer_group_offsets(settings.app_id))
        existing = {g: _committed(await admin.list_consumer_group_offsets(g))
                    for g in {roles.group_id(settings.app_id, r) for r in roles.ROLES}}
    finally:
        await admin.close()
    copies = plan(settings, source, existing)
    if apply and any(c.action == "copy" for c in copies):
        groups = await read_groups(settings, {c.group: [] for c in copies if c.action == "copy"})
        running = {g: len(v.members) for g, v in groups.items() if v.state not in ("Empty", "Dead")}
        if running:
            raise GroupsRunning("stop every worker first; still running: " + ", ".join(
                f"{g} ({n} worker{'s' * (n != 1)})" for g, n in sorted(running.items()))
                + " (a stopped worker stays a member for LOGIFLOW_SESSION_TIMEOUT_S)")
        for group in sorted({c.group for c in copies if c.action == "copy"}):
            mine = {c.tp: OffsetAndMetadata(c.offset, "") for c in copies
                    if c.group == group and c.action == "copy" and c.offset is not None}
            consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=group,
                                        enable_auto_commit=False, **client)
            await consumer.start()
            try:
                consumer.assign(list(mine))
                await consumer.commit(mine)
            finally:
                await consumer.stop()
    return copies


@click.group(name="roles")
def roles_group() -> None:
    """Worker roles (see README, "Roles")."""


@roles_group.command(name="split-offsets")
@click.option("--apply", is_flag=True, help="Commit the offsets (default: show what would be done).")
def split_offsets_command(apply: bool) -> None:
    """Copy the 'all' group's offsets to each role's group (stop every worker first)."""
    settings = Settings.from_env()
    try:
        copies = asyncio.run(split_offsets(settings, apply))
    except GroupsRunning as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        raise click.ClickException(f"could not copy the offsets: {exc!r} (are workers of a role "
                                   f"still running? stop them first)") from exc
    for c in copies:
        what = {"copy": f"{'copied' if apply else 'would copy'} offset {c.offset}",
                "keep": f"kept: the group already has offset {c.existing}",
                "nothing": f"nothing: {settings.app_id} committed no offset"}[c.action]
        click.echo(f"{c.group}  {c.tp.topic}[{c.tp.partition}]  {what}")
    if not apply and any(c.action == "copy" for c in copies):
        click.echo("dry run: add --apply to commit")
