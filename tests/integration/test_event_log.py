"""KafkaEventLog on the real broker: the tails the invoice agent's dedupe reads back."""

from __future__ import annotations

import uuid

from logiflow.adapters.kafka_event_log import KafkaEventLog
from logiflow.settings import Settings
from tests.support.harness import produce, run_sync


def test_the_tails_of_several_partitions_are_read_in_one_go(kafka: str) -> None:
    topic = f"event-log-{uuid.uuid4().hex[:8]}"
    written = {0: [b"a0", b"a1", b"a2", b"a3", b"a4"], 1: [b"b0"], 2: [b"c0", b"c1", b"c2"]}
    for partition, values in written.items():
        produce(topic, [(None, v) for v in values], partition=partition, bootstrap=kafka)
    log = KafkaEventLog(Settings.from_env({"LOGIFLOW_BROKER": f"kafka://{kafka}"}))

    tails = run_sync(log.tails(topic, [0, 1, 2, 3], 2))

    # the last two of each partition, oldest first; fewer when it holds fewer; empty: nothing
    assert tails == {0: [b"a3", b"a4"], 1: [b"b0"], 2: [b"c1", b"c2"], 3: []}
    assert run_sync(log.tails(topic, [], 2)) == {}
