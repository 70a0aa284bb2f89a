"""A worker's first start: topics and table changelogs exist, right-sized, before it consumes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.support.harness import BROKER, Worker, run_sync

TABLES = ("truck-routes", "truck-invoices", "invoices-issued", "dlq-entries")


async def _describe(names: list[str]) -> dict[str, tuple[int, str | None]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
    await admin.start()
    try:
        described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics()
                     if t["error_code"] == 0}
        wanted = [n for n in names if n in described]
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in wanted])
        policy: dict[str, str | None] = {}
        for response in configs:
            for resource in response.resources:
                name, entries = resource[3], resource[4]
                policy[name] = next((e[1] for e in entries if e[0] == "cleanup.policy"), None)
        return {n: (described[n], policy.get(n)) for n in wanted}
    finally:
        await admin.close()


def test_the_first_start_creates_every_changelog_compacted_and_right_sized_before_it_is_ready(
        make_worker: Callable[..., Worker]) -> None:
    w = make_worker("firststart").start()
    app_id = w.env["LOGIFLOW_APP_ID"]
    changelogs = [f"{app_id}-{t}-changelog" for t in TABLES]
    found = run_sync(_describe(changelogs))
    assert found == {
        f"{app_id}-truck-routes-changelog": (4, "compact"),
        f"{app_id}-truck-invoices-changelog": (4, "compact"),
        f"{app_id}-invoices-issued-changelog": (4, "compact"),
        f"{app_id}-dlq-entries-changelog": (1, "compact"),
    }
    assert "PartitionsMismatch" not in w.log_text()


def test_a_topic_with_the_wrong_partition_count_stops_the_worker_before_it_consumes(
        make_worker: Callable[..., Worker]) -> None:
    w = make_worker("mismatch")

    async def create_wrong() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(w.topic("routing.events"), 2, 1)])
        finally:
            await admin.close()

    run_sync(create_wrong())
    with pytest.raises(AssertionError, match="worker exited"):
        w.start(timeout=90)
    log = w.log_text()
    assert f"topic {w.topic('routing.events')} has 2 partitions, LogiFlow needs 4" in log
    assert "TopicMismatch" in log
    assert "Worker]: Ready" not in log
    started = time.monotonic()
    assert w.proc is not None and w.proc.wait(30) != 0
    assert time.monotonic() - started < 30
