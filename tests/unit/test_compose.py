"""docker-compose.yml cannot run here (no Docker engine): check it stays in step with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from logiflow.kafka.config import LocalBrokerSettings
from logiflow.kafka.local_broker import kafka_version
from logiflow.settings import Settings
from logiflow.settings_table import settings_table

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_compose_broker_is_the_kafka_version_the_local_command_runs():
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"
    assert COMPOSE["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


WORKERS = {name: s for name, s in COMPOSE["services"].items() if name != "kafka"}


def role_of(service: dict) -> str:
    command = service["command"]
    return command[command.index("--role") + 1]


def test_compose_deploys_two_routing_two_invoicing_and_one_dlq_worker():
    by_role: dict[str, list[str]] = {}
    for name, service in WORKERS.items():
        by_role.setdefault(role_of(service), []).append(name)
    assert {r: len(names) for r, names in by_role.items()} == {"routing": 2, "invoicing": 2, "dlq": 1}


def test_each_compose_worker_runs_the_readme_command_with_known_settings():
    assert "logiflow worker -l info" in (REPO / "Makefile").read_text()
    known = {name for name, _default, _doc in settings_table()}
    for name, worker in WORKERS.items():
        assert worker["command"][:4] == ["logiflow", "worker", "-l", "info"], name
        assert worker["command"][4:] == ["--role", role_of(worker)], name
        assert set(worker["environment"]) <= known, name
        env = {k: str(v) for k, v in worker["environment"].items()}
        settings = Settings.from_env({**env, "LOGIFLOW_ROLE": role_of(worker)})  # all values parse
        assert settings.group_id == f"{settings.app_id}-{role_of(worker)}"


def test_compose_workers_are_told_apart_by_instance_id_url_and_data_volume():
    # Static membership: two workers with one instance id would fence each other; a wrong URL
    # would send forwarded requests to another worker; a shared RocksDB folder cannot open twice.
    for field in ("LOGIFLOW_INSTANCE_ID", "LOGIFLOW_WEB_URL"):
        values = [w["environment"][field] for w in WORKERS.values()]
        assert len(set(values)) == len(values), field
    for name, worker in WORKERS.items():
        assert worker["environment"]["LOGIFLOW_INSTANCE_ID"] == name
        assert worker["environment"]["LOGIFLOW_WEB_URL"] == f"http://{name}:6066"
        data = [v for v in worker["volumes"] if v.endswith(":/var/lib/logiflow/data")]
        assert data == [f"{name}-data:/var/lib/logiflow/data"], name
        assert f"{name}-data" in COMPOSE["volumes"]


def test_the_compose_ports_are_published_on_loopback_only_from_the_default_port():
    defaults, broker = Settings(), LocalBrokerSettings()
    ports = [w["ports"] for w in WORKERS.values()]
    assert ports[0] == [f"127.0.0.1:{defaults.web_port}:{defaults.web_port}"]
    assert ports == [[f"127.0.0.1:{defaults.web_port + i}:{defaults.web_port}"]
                     for i in range(len(ports))]
    assert COMPOSE["services"]["kafka"]["ports"] == [
        f"127.0.0.1:{broker.kafka_port}:{broker.kafka_port}"]
    for worker in WORKERS.values():
        assert str(defaults.web_port) == worker["environment"]["LOGIFLOW_WEB_PORT"]
