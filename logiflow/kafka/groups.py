"""What Kafka knows of LogiFlow's consumer groups: members, what each holds, committed offsets.

Each role is a consumer group (:mod:`logiflow.roles`). The group's state lives in Kafka: a
``DescribeGroups`` request returns every member's assignment as the group leader made it. With
Faust's ``PartitionAssignor`` (protocol ``faust``, version 4) that assignment's user data is
Faust's ``ClientMetadata`` as zlib-compressed JSON: the member's URL (``LOGIFLOW_WEB_URL``) and
its active and standby partitions, table changelogs included. So any worker can tell which
worker of another role owns a partition, with no registry of its own: the same data Faust's
``app.router`` reads for its own group.

:func:`decode_member` is pure; :func:`read_groups` asks the brokers.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.protocol.admin import DescribeGroupsRequest, DescribeGroupsRequest_v2

from logiflow.kafka import security
from logiflow.settings import Settings

FAUST_PROTOCOL = "faust"
ByTopic = dict[str, list[int]]


@dataclass(frozen=True)
class Member:
    """One worker in a group, as its assignment says."""

    url: str
    client_host: str
    actives: ByTopic
    standbys: ByTopic


@dataclass(frozen=True)
class Group:
    """A consumer group: its state (Stable, PreparingRebalance...), members and offsets."""

    group_id: str
    state: str
    members: list[Member] = field(default_factory=list)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)  # -1: none yet
    ends: dict[tuple[str, int], int] = field(default_factory=dict)

    def distribution(self, topic: str) -> dict[str, dict[str, list[int]]]:
        """url → {topic: active partitions}: the shape of Faust's ``router.table_metadata``."""
        return {m.url: {topic: m.actives.get(topic, [])} for m in self.members}

    def owner(self, topic: str, partition: int) -> str | None:
        return next((m.url for m in self.members if partition in m.actives.get(topic, ())), None)


def _by_topic(value: Any) -> ByTopic:
    if not isinstance(value, Mapping):
        return {}
    return {str(t): sorted(int(p) for p in ps) for t, ps in value.items() if isinstance(ps, list)}


def decode_member(assignment: bytes, client_host: str = "") -> Member | None:
    """A member from its Faust assignment bytes; None when empty (rebalancing) or not Faust's."""
    if not assignment:
        return None
    try:
        decoded = ConsumerProtocolMemberAssignment.decode(assignment)
        meta = json.loads(zlib.decompress(decoded.user_data))
    except (ValueError, zlib.error, TypeError, EOFError, struct.error):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("url"), str):
        return None
    a = meta.get("assignment") or {}
    return Member(url=meta["url"], client_host=client_host, actives=_by_topic(a.get("actives")),
                  standbys=_by_topic(a.get("standbys")))


def group_from_description(described: Mapping[str, Any]) -> Group:
    """A :class:`Group` from one entry of a DescribeGroups response (``to_object()`` form)."""
    members = []
    if described.get("protocol") in (FAUST_PROTOCOL, ""):
        for m in described.get("members", []):
            member = decode_member(m.get("member_assignment") or b"", m.get("client_host", ""))
            if member is not None:
                members.append(member)
    return Group(group_id=described["group"], state=described.get("state", ""),
                 members=sorted(members, key=lambda m: m.url))


class _DescribeGroupsV2(DescribeGroupsRequest):
    """DescribeGroups at v2: aiokafka 0.14 decodes a v3 answer with the v2 schema and fails
    (``DescribeGroupsRequest_v3.RESPONSE_TYPE`` is the v2 response); v2 has all we read."""

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        return DescribeGroupsRequest_v2(self._groups)


async def read_groups(settings: Settings,
                      wanted: Mapping[str, Sequence[TopicPartition]]) -> dict[str, Group]:
    """Describe each group of ``wanted`` and read its committed and end offsets for its partitions."""
    client = security.client_kwargs(settings)
    servers = settings.bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, **client)
    kafka = AIOKafkaClient(bootstrap_servers=servers, **client)
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False,
                                **client)
    await admin.start()
    try:
        await kafka.bootstrap()
        await consumer.start()
        groups: dict[str, Group] = {}
        for group_id in wanted:
            node = await admin.find_coordinator(group_id)
            response = await kafka.send(node, _DescribeGroupsV2([group_id]))
            for described in response.to_object()["groups"]:
                groups[described["group"]] = group_from_description(described)
        all_tps = sorted({tp for tps in wanted.values() for tp in tps})
        ends = await consumer.end_offsets(all_tps) if all_tps else {}
        for group_id, tps in wanted.items():
            committed = await admin.list_consumer_group_offsets(group_id, partitions=list(tps))
            group = groups.setdefault(group_id, Group(group_id, "Dead"))
            group.committed.update({(tp.topic, tp.partition): committed[tp].offset
                                    for tp in tps if tp in committed})
            group.ends.update({(tp.topic, tp.partition): ends[tp] for tp in tps if tp in ends})
        return groups
    finally:
        await consumer.stop()
        await kafka.close()
        await admin.close()
