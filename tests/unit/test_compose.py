"""docker-compose.yml cannot run here (no Docker engine): check it stays in step with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from logiflow.kafka.config import LocalBrokerSettings
from logiflow.kafka.local_broker import kafka_version
from logiflow.settings import Settings, settings_table

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_compose_broker_is_the_kafka_version_the_local_command_runs():
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"
    assert COMPOSE["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_the_compose_worker_runs_the_readme_command_with_known_settings():
    worker = COMPOSE["services"]["worker"]
    assert worker["command"] == ["logiflow", "worker", "-l", "info"]
    assert "logiflow worker -l info" in (REPO / "Makefile").read_text()
    known = {name for name, _default, _doc in settings_table()}
    assert set(worker["environment"]) <= known
    Settings.from_env({k: str(v) for k, v in worker["environment"].items()})  # all values parse


def test_the_compose_ports_are_published_on_loopback_only_at_the_default_ports():
    defaults, broker = Settings(), LocalBrokerSettings()
    assert COMPOSE["services"]["worker"]["ports"] == [
        f"127.0.0.1:{defaults.web_port}:{defaults.web_port}"]
    assert COMPOSE["services"]["kafka"]["ports"] == [
        f"127.0.0.1:{broker.kafka_port}:{broker.kafka_port}"]
    assert str(defaults.web_port) == COMPOSE["services"]["worker"]["environment"]["LOGIFLOW_WEB_PORT"]
