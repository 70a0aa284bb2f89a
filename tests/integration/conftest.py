"""Integration fixtures: worker processes on the real broker, each test isolated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.scenarios import latest_table
from tests.support.harness import Worker, isolated_env


@pytest.fixture
def make_worker(kafka: str, tmp_path: Path, artifacts: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def make(name: str, **overrides: object) -> Worker:
        w = Worker(isolated_env(tmp_path, name, **overrides), artifacts / f"{name}.log")
        workers.append(w)
        return w

    yield make
    for w in workers:
        w.kill()


def changelog(w: Worker, table: str) -> dict[str, Any]:
    return latest_table(f"{w.env['LOGIFLOW_APP_ID']}-{table}-changelog")


def assert_no_unexpected_failures(w: Worker) -> None:
    log = w.log_text()
    assert "unexpected failure" not in log, w.log_tail()
    assert "[ERROR] [^Worker]" not in log, w.log_tail()
    assert "Agent crashed" not in log and "restarting agent" not in log.lower(), w.log_tail()
