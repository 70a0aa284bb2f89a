"""Settings of the local broker that ``logiflow kafka ...`` runs (not of the worker).

Kept apart from :class:`logiflow.settings.Settings`: a worker pointed at a real cluster never
reads them. Same rules: one ``LOGIFLOW_KAFKA_*`` environment variable per field, documented, in
the README's generated settings table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logiflow.errors import ConfigError
from logiflow.settings import env_values, setting


@dataclass(frozen=True)
class LocalBrokerSettings:
    """Where the local broker lives and listens. A cluster's node ``i`` (1-based) takes the
    client and controller ports plus ``2 * (i - 1)``: 9092/9093, 9094/9095, 9096/9097."""

    kafka_home: Path = setting("LOGIFLOW_KAFKA_HOME", Path(".logiflow/kafka"),
                               "Local broker's data, config, pid and log (git-ignored).")
    kafka_cache: Path = setting("LOGIFLOW_KAFKA_CACHE", Path("~/.cache/logiflow/kafka"),
                                "Where Maven-fetched Kafka jars are cached.")
    kafka_port: int = setting("LOGIFLOW_KAFKA_PORT", 9092, "Local broker's client port.")
    kafka_controller_port: int = setting("LOGIFLOW_KAFKA_CONTROLLER_PORT", 9093,
                                         "Local broker's KRaft controller port.")
    kafka_heap: str = setting("LOGIFLOW_KAFKA_HEAP", "512m", "Local broker's Java heap.")
    kafka_start_timeout_s: float = setting("LOGIFLOW_KAFKA_START_TIMEOUT_S", 90.0,
                                           "How long `logiflow kafka start` waits for metadata.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> LocalBrokerSettings:
        """Build from ``env`` (default: ``os.environ``); ``overrides`` win."""
        config = cls(**env_values(cls, env, overrides))
        for name in ("kafka_port", "kafka_controller_port"):
            if not 0 < getattr(config, name) < 65536:
                raise ConfigError(f"{_env(name)} must be a port number, got {getattr(config, name)}")
        if not config.kafka_start_timeout_s > 0:
            raise ConfigError(f"LOGIFLOW_KAFKA_START_TIMEOUT_S must be positive, "
                              f"got {config.kafka_start_timeout_s}")
        return config


def _env(field_name: str) -> str:
    return str(LocalBrokerSettings.__dataclass_fields__[field_name].metadata["env"])
