"""Topic administration: create LogiFlow's topics with the configured partitions."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from logiflow.settings import Settings

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings, wanted: list[tuple[str, int]]) -> None:
    """Create each (topic, partitions) that does not exist yet. Existing topics are left as is."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, partitions, settings.replication)
                   for name, partitions in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another worker created them first
            log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()
