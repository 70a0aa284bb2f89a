"""Shared fixtures. Unit and functional tests need nothing; integration tests need a broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Functional tests import logiflow.app; give that app an in-memory store and no broker I/O.
os.environ.setdefault("LOGIFLOW_STORE", "memory://")
os.environ.setdefault("LOGIFLOW_APP_ID", "logiflow-functional")

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("LOGIFLOW_TEST_ARTIFACTS", REPO / "artifacts"))


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """A running broker: the one `logiflow kafka start` manages (started here if down)."""
    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.kafka.local_broker import LocalKafka, answers_metadata
    from tests.harness import BROKER

    if not answers_metadata(BROKER):
        LocalKafka(LocalBrokerSettings.from_env({})).start()
    yield BROKER


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    path = ARTIFACTS / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
