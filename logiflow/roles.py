"""Worker roles: which agents and tables a worker runs, and the consumer group it joins.

``LOGIFLOW_ROLE`` (or ``logiflow worker --role``) is ``all`` (every agent, as ``make run``) or
one of :data:`ROLES`. Each role is its own Kafka consumer group, so each role scales on its
own: more workers of a role, and Kafka spreads that role's partitions over them.

Why a group per role and not one group: Faust's ``PartitionAssignor`` runs on the group leader
and builds every member's assignment with the *leader's* table manager (which changelogs
exist, their standbys, the changelog distribution the web uses to find owners). A routing
leader does not know the invoicing tables: the invoicing members' standby changelog partitions
would be left out of their Kafka assignment and Faust's own check in ``on_assignment`` fails.
And one group rebalances as one: an invoicing worker joining would stop routing for the
rebalance. With a group per role, roles never wait for each other.

Names (pinned: renaming them is a data migration):

* consumer group (= Faust app id) of role ``r``: ``<LOGIFLOW_APP_ID>-<r>``; of ``all``: the
  app id itself, as before roles existed;
* table changelog topics: ``<LOGIFLOW_APP_ID>-<table>-changelog`` for *every* role, so a
  deployment moving from ``all`` to split roles keeps its tables.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from logiflow import topics
from logiflow.errors import ConfigError, LogiflowError

ALL: Final = "all"
ROUTING: Final = "routing"
INVOICING: Final = "invoicing"
DLQ: Final = "dlq"
ROLES: Final = (ROUTING, INVOICING, DLQ)

AGENTS: Final = {ROUTING: (topics.CALCULATE_ROUTES,), INVOICING: (topics.GENERATE_INVOICES,),
                 DLQ: (topics.INDEX_DEAD_LETTERS,)}
TABLES: Final = {ROUTING: (topics.TRUCK_ROUTES,),
                 INVOICING: (topics.TRUCK_INVOICES, topics.INVOICES_ISSUED),
                 DLQ: (topics.DLQ_ENTRIES,)}
# The topic each role consumes (the DLQ topic's name is a setting: None stands for it).
SOURCES: Final = {ROUTING: topics.ROUTE_REQUESTS, INVOICING: topics.ROUTING_EVENTS, DLQ: None}


def parse(text: str) -> str:
    """``text`` if it names a role (exactly, lower case), else :class:`ConfigError`."""
    if text != ALL and text not in ROLES:
        raise ConfigError(f"LOGIFLOW_ROLE (or --role) must be one of {', '.join((ALL, *ROLES))}, "
                          f"got {text!r}")
    return text


def runs(worker_role: str, role: str) -> bool:
    """Whether a worker of ``worker_role`` runs ``role``'s agents and tables."""
    return worker_role in (ALL, role)


def roles_of(worker_role: str) -> tuple[str, ...]:
    return ROLES if worker_role == ALL else (worker_role,)


def role_of_agent(name: str | None) -> str:
    return role_of("agent", name, AGENTS)


def role_of_table(name: str) -> str:
    return role_of("table", name, TABLES)


def group_id(app_id: str, worker_role: str) -> str:
    """The consumer group (and Faust app id) of a worker of ``worker_role``."""
    return app_id if worker_role == ALL else f"{app_id}-{worker_role}"


def groups(app_id: str, worker_role: str) -> dict[str, str]:
    """The group that runs each role, as a worker of ``worker_role`` sees the deployment.

    An ``all`` worker runs every role in its own group; a worker of one role belongs to a
    split deployment, where every role has its group. Mixing ``all`` and split workers of one
    app id is not supported (both would process the same events).
    """
    return {r: group_id(app_id, ALL if worker_role == ALL else r) for r in ROLES}


def changelog_topic(app_id: str, table: str) -> str:
    """A table's changelog topic: the same name whichever role runs the table."""
    return f"{app_id}-{table}-changelog"


class NoRole(LogiflowError):
    """An agent or table is declared that no role runs. A bug: add its pinned name to
    :data:`AGENTS` or :data:`TABLES` (else every role's workers would run it)."""


def role_of(kind: str, name: str | None, by_role: Mapping[str, tuple[str, ...]]) -> str:
    """The role of the agent or table ``name``, or :class:`NoRole`."""
    role = next((r for r, names in by_role.items() if name in names), None)
    if role is None:
        raise NoRole(f"{kind} {name!r} belongs to no role: add its pinned name to "
                     f"logiflow/roles.py ({'AGENTS' if kind == 'agent' else 'TABLES'})")
    return role


class TableNotHere(LookupError):
    """Code read a table this worker's role does not run. A bug: ask the role's workers instead."""


class AbsentTable:
    """Stands for a table of a role this worker does not run: its names, never its data.

    Returned by :meth:`logiflow.app.LogiflowApp.Table` so modules can import every table; the
    web sends reads of an absent table to a worker of its role.
    """

    def __init__(self, name: str, role: str, changelog: str, partitions: int | None) -> None:
        self.name, self.role, self.partitions = name, role, partitions
        self.changelog_topic = _TopicName(changelog)

    def _absent(self, *_args: Any, **_kwargs: Any) -> Any:
        raise TableNotHere(f"table {self.name!r} is run by {self.role} workers, not this one")

    get = items = values = keys = __getitem__ = __setitem__ = __contains__ = __iter__ = _absent

    def __repr__(self) -> str:
        return f"<AbsentTable {self.name} (role {self.role})>"


class _TopicName:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_topic_name(self) -> str:
        return self.name
