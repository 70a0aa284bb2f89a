"""The local broker's pure parts (the lifecycle itself runs in every integration test)."""

from __future__ import annotations

import base64
import uuid

from logiflow.kafka.local_broker import new_cluster_id


def test_cluster_ids_are_uuids_in_url_safe_base64_that_never_look_like_an_option():
    ids = [new_cluster_id() for _ in range(5_000)]  # ~78 would start with "-" if unfiltered
    assert len(set(ids)) == len(ids)
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "=="))
