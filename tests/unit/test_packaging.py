"""The installed project: our packages (not PyPI's `agents`/`tables`), the `logiflow` command, the pom."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logiflow.kafka.local_broker import kafka_version

REPO = Path(__file__).resolve().parents[2]
LOGIFLOW = Path(sys.executable).parent / "logiflow"


@pytest.mark.parametrize("name", ["agents", "tables", "logiflow"])
def test_the_top_level_packages_are_the_ones_in_this_repository(name):
    # `agents` and `tables` are also unrelated PyPI distributions; an install must not shadow ours.
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve() == REPO / name / "__init__.py"


def run_logiflow(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    env["LOGIFLOW_STORE"] = "memory://"
    # cwd: building the app creates its data folder relative to the working directory.
    return subprocess.run([str(LOGIFLOW), *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)


def test_the_logiflow_command_is_installed_in_the_venv():
    assert LOGIFLOW.is_file() and os.access(LOGIFLOW, os.X_OK)


def test_logiflow_help_lists_fausts_commands_and_ours(tmp_path):
    result = run_logiflow("--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = {line.split()[0] for line in result.stdout.split("Commands:", 1)[1].splitlines()
                if line.strip()}
    assert {"worker", "send", "kafka", "dlq"} <= commands


def test_logiflow_agents_lists_our_three_agents_without_a_broker(tmp_path):
    result = run_logiflow("agents", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    for agent in ("calculate_routes", "generate_invoices", "index_dead_letters"):
        assert agent in result.stdout


def test_dlq_replay_help_offers_apply_and_force(tmp_path):
    result = run_logiflow("dlq", "replay", "--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--apply" in result.stdout and "--force" in result.stdout


def test_the_local_broker_pom_pins_a_kafka_4_release():
    version = kafka_version()
    major, minor, *_rest = version.split(".")
    assert major == "4" and minor.isdigit(), version
