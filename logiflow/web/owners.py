"""Which worker answers for a table key, and forwarding a request to it.

Why not Faust's ``@app.table_route``: it finds the owner by hashing the key *as the table's
changelog serializes it*. Our tables have ``key_type=str``, so Faust serializes keys as JSON
(``"TR-42"`` with the quotes), while the rows live in the partition of the event that wrote
them: the source topics are keyed by the raw truck id bytes (``TR-42``). The two hashes pick
different partitions for most trucks, so ``table_route`` would send most lookups to the wrong
worker. Here the partition is computed from the raw UTF-8 key with Kafka's default partitioner
(murmur2, what aiokafka, the Java client and our producers use), and the owner is looked up in
the same assignor metadata ``table_route`` uses (``app.router.table_metadata``).

A forwarded request carries :data:`HOP_HEADER`; a worker that receives one but does not own the
partition (the two disagree during a rebalance) answers 503 rather than forwarding again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka.partitioner import murmur2
from yarl import URL

HOP_HEADER = "X-Logiflow-Forwarded-By"
HostToPartitions = Mapping[str, Mapping[str, Sequence[int]]]


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (Java-compatible murmur2)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def owner_of(distribution: HostToPartitions, topic: str, partition: int) -> str | None:
    """The URL of the worker with ``topic``/``partition`` active, per the assignor's metadata."""
    for url, topics in distribution.items():
        if partition in topics.get(topic, ()):
            return url
    return None


def same_worker(a: str | URL, b: str | URL) -> bool:
    ua, ub = URL(str(a)), URL(str(b))
    return (ua.host, ua.port) == (ub.host, ub.port)


@dataclass(frozen=True)
class Decision:
    """Where a request for one partition is answered: ``local``, ``forward`` to ``url``, or not."""

    action: str  # local | forward | unavailable
    url: str | None = None
    reason: str = ""


def decide(distribution: HostToPartitions, topic: str, partition: int, me: str | URL,
           forwarded_by: str | None) -> Decision:
    owner = owner_of(distribution, topic, partition)
    if owner is None:
        if not distribution:
            # No assignment metadata yet (worker starting, or a single worker that has not
            # joined yet): the local table is the best answer there is.
            return Decision("local", None, "no assignment metadata")
        return Decision("unavailable", None, f"partition {partition} has no owner (rebalancing)")
    if same_worker(owner, me):
        return Decision("local", owner)
    if forwarded_by:
        return Decision("unavailable", owner,
                        f"forwarded here by {forwarded_by[:80]}, but the owner is {owner} (rebalancing)")
    return Decision("forward", owner)
