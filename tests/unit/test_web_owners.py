"""Which worker answers for a truck: Kafka's partitioner on the raw key, then the assignor's map."""

from __future__ import annotations

import json

from aiokafka.partitioner import DefaultPartitioner

from logiflow.web.owners import decide, owner_of, partition_for_key, same_worker

TRUCKS = [f"TR-{i:03d}" for i in range(200)] + ["<img src=x onerror=alert(1)>", "LKW-Ä-1"]
DIST = {"http://127.0.0.1:7001": {"t-changelog": [0, 2]},
        "http://127.0.0.1:7002": {"t-changelog": [1, 3]}}


def test_partition_is_the_one_producers_pick_for_the_raw_truck_id() -> None:
    for truck in TRUCKS:
        key = truck.encode()
        assert partition_for_key(key, 4) == DefaultPartitioner()(key, [0, 1, 2, 3], [0, 1, 2, 3])


def test_hashing_the_json_serialized_key_would_pick_another_partition_for_most_trucks() -> None:
    # Why the API does not use Faust's table_route: it hashes json.dumps(key).
    moved = sum(partition_for_key(t.encode(), 4) != partition_for_key(json.dumps(t).encode(), 4)
                for t in TRUCKS)
    assert moved > len(TRUCKS) / 2


def test_the_owner_is_the_worker_with_the_partition_active() -> None:
    assert owner_of(DIST, "t-changelog", 2) == "http://127.0.0.1:7001"
    assert owner_of(DIST, "t-changelog", 3) == "http://127.0.0.1:7002"
    assert owner_of(DIST, "other", 0) is None
    assert same_worker("http://127.0.0.1:7001/", "http://127.0.0.1:7001")
    assert not same_worker("http://127.0.0.1:7001", "http://127.0.0.1:7002")


def test_requests_are_answered_locally_forwarded_once_or_refused_during_a_rebalance() -> None:
    me = "http://127.0.0.1:7001"
    assert decide(DIST, "t-changelog", 0, me, None).action == "local"
    forward = decide(DIST, "t-changelog", 1, me, None)
    assert (forward.action, forward.url) == ("forward", "http://127.0.0.1:7002")
    # Forwarded to us by a worker that thinks we own it, but we think otherwise: no ping-pong.
    assert decide(DIST, "t-changelog", 1, me, "http://127.0.0.1:7002").action == "unavailable"
    assert decide({me: {"t-changelog": [0]}}, "t-changelog", 1, me, None).action == "unavailable"
    assert decide({}, "t-changelog", 1, me, None).action == "local"  # not assigned yet: local
