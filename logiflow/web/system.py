"""The whole deployment as any worker sees it: each role's group, its workers and partitions,
its backlog and drain rate, and the owner of any table partition of any role.

Read from Kafka (:func:`logiflow.kafka.groups.read_groups`: the groups' own assignments and
committed offsets), at most every :data:`MAX_AGE_S`, on demand: no registry, no heartbeat of
our own. A worker of role ``all`` sees every role in its one group. The view functions at the
bottom are pure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from logiflow import roles
from logiflow.kafka.groups import Group, read_groups
from logiflow.settings import Settings
from logiflow.web.errors import Unavailable

log = logging.getLogger(__name__)

Json = dict[str, Any]
MAX_AGE_S = 2.0
READ_TIMEOUT_S = 5.0


def source_topic(settings: Settings, role: str) -> str:
    name = roles.SOURCES[role]
    return settings.topic(name if name is not None else settings.dlq_topic)


def source_partitions(settings: Settings, role: str) -> int:
    return 1 if role == roles.DLQ else settings.partitions


class System:
    """Each role's consumer group, read from Kafka and cached for a couple of seconds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.group_of = roles.groups(settings.app_id, settings.role)
        self._groups: dict[str, Group] = {}
        self._read_at = 0.0
        self._lock = asyncio.Lock()
        # group → (monotonic time, committed total) a few seconds ago, and the rate since.
        self._samples: dict[str, tuple[float, int]] = {}
        self.rates: dict[str, float] = {}

    def wanted(self) -> dict[str, list[TopicPartition]]:
        out: dict[str, list[TopicPartition]] = {}
        for role, group in self.group_of.items():
            topic = source_topic(self.settings, role)
            out.setdefault(group, []).extend(
                TopicPartition(topic, p) for p in range(source_partitions(self.settings, role)))
        return out

    async def groups(self, max_age_s: float = MAX_AGE_S) -> dict[str, Group]:
        """group id → :class:`Group`; the last answer if it is younger than ``max_age_s``."""
        async with self._lock:
            if time.monotonic() - self._read_at >= max_age_s:
                try:
                    fresh = await asyncio.wait_for(read_groups(self.settings, self.wanted()),
                                                   READ_TIMEOUT_S)
                except (KafkaError, OSError, TimeoutError) as exc:
                    log.warning("web: consumer groups unavailable: %r", exc)
                    if not self._groups:
                        raise Unavailable(f"Kafka's consumer groups unavailable: "
                                          f"{type(exc).__name__}") from exc
                    return self._groups  # the last answer, rather than none
                self._groups, self._read_at = fresh, time.monotonic()
                self._sample(fresh)
            return self._groups

    def invalidate(self) -> None:
        self._read_at = 0.0

    def _sample(self, groups: Mapping[str, Group]) -> None:
        now = time.monotonic()
        for group_id, g in groups.items():
            done = sum(max(0, c) for c in g.committed.values())
            before = self._samples.get(group_id)
            if before is None:
                self._samples[group_id] = (now, done)
            elif now - before[0] >= 1.0:
                self.rates[group_id] = max(0.0, (done - before[1]) / (now - before[0]))
                self._samples[group_id] = (now, done)

    async def group(self, role: str) -> Group:
        group_id = self.group_of[role]
        return (await self.groups()).get(group_id) or Group(group_id, "Dead")

    async def distribution(self, role: str, topic: str) -> dict[str, dict[str, list[int]]]:
        """url → {topic: partitions} of ``role``'s workers (a table changelog or a source)."""
        return (await self.group(role)).distribution(topic)


# --- pure views ----------------------------------------------------------------------------

def role_view(settings: Settings, role: str, group: Group, rate: float | None) -> Json:
    """One role: its group, workers and their partitions, backlog, drain rate, time to drain."""
    topic = source_topic(settings, role)
    changelogs = [roles.changelog_topic(settings.app_id, t) for t in roles.TABLES[role]]
    lag: list[Json] = []
    for (t, p), end in sorted(group.ends.items()):
        if t != topic:
            continue
        committed = group.committed.get((t, p), -1)
        lag.append({"topic": t, "partition": p, "highwater": end,
                    "committed": committed if committed >= 0 else None,
                    "lag": max(0, end - max(committed, 0))})
    total = sum(int(r["lag"]) for r in lag)
    return {
        "group": group.group_id, "state": group.state,
        "rebalancing": group.state in ("PreparingRebalance", "CompletingRebalance"),
        "sourceTopic": topic,
        "workers": [{"url": m.url, "host": m.client_host, "partitions": m.actives.get(topic, []),
                     "tables": {c: m.actives.get(c, []) for c in changelogs if c in m.actives},
                     "standbys": {c: m.standbys[c] for c in changelogs if m.standbys.get(c)}}
                    for m in group.members],
        "lag": lag, "lagTotal": total,
        "drainRatePerS": None if rate is None else round(rate, 1),
        "drainSeconds": (0.0 if total == 0 else None if not rate else round(total / rate, 1)),
    }


def sum_shares(shares: list[Json], partitions: int) -> Json:
    """Totals of one role from its workers' per-partition shares, each partition counted once."""
    seen: dict[int, Json] = {}
    for share in shares:
        for p, totals in share.items():
            seen.setdefault(int(p), totals)
    out: Json = {}
    for totals in seen.values():
        for k, v in totals.items():
            if k == "revenue":
                out[k] = str(Decimal(out.get(k, "0")) + Decimal(str(v)))
            elif isinstance(v, int | float) and not isinstance(v, bool):
                out[k] = out.get(k, 0) + v
            else:
                out.setdefault(k, v)
    out = {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}
    covered = sorted(seen)
    return {"totals": out, "partitionsCovered": covered, "complete": len(covered) == partitions}
