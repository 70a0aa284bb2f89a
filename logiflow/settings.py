"""Settings: one frozen object built from the environment, with safe local defaults.

Every field maps to one ``LOGIFLOW_*`` environment variable (the README's settings table is
generated from the same list). Nothing reads the environment at import time: call
:func:`Settings.from_env`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from logiflow import roles, topics
from logiflow.errors import ConfigError


def setting(env: str, default: Any, doc: str, secret: bool = False) -> Any:
    """A settings field: its environment variable, safe default and documentation.

    A ``secret`` field is masked in the settings' repr (settings objects may get logged).
    """
    return field(default=default, metadata={"env": env, "doc": doc, "secret": secret})


_setting = setting


@dataclass(frozen=True)
class Settings:
    """All LogiFlow settings. Field metadata names the environment variable and documents it."""

    # --- Kafka and Faust -------------------------------------------------------------------
    broker: str = _setting("LOGIFLOW_BROKER", "kafka://127.0.0.1:9092",
                           "Kafka bootstrap servers, Faust URL form (kafka://host:port;host2:port).")
    app_id: str = _setting("LOGIFLOW_APP_ID", "logiflow",
                           "Faust app id: consumer group and prefix of changelog topics.")
    role: str = _setting("LOGIFLOW_ROLE", "all",
                         "What this worker runs: all (every agent and table, consumer group "
                         "LOGIFLOW_APP_ID) or one role, routing, invoicing or dlq (its agent and "
                         "tables only, consumer group <app id>-<role>; more workers of a role "
                         "share its partitions). `logiflow worker --role` sets it.")
    topic_prefix: str = _setting("LOGIFLOW_TOPIC_PREFIX", "",
                                 "Prepended to every topic name (isolates test runs); empty in production.")
    partitions: int = _setting("LOGIFLOW_PARTITIONS", 4,
                               "Partitions of every LogiFlow topic and table "
                               "(all co-partitioned by truck id).")
    replication: int = _setting("LOGIFLOW_REPLICATION", 1,
                                "Replication factor of the topics LogiFlow creates.")
    data_dir: Path = _setting("LOGIFLOW_DATA_DIR", Path(".logiflow/data"),
                              "Worker's local state: RocksDB tables (rebuilt from changelogs if lost).")
    store: str = _setting("LOGIFLOW_STORE", "rocksdb://",
                          "Table store URL: rocksdb:// (RocksDB via rocksdict) or memory://.")
    dedupe_tail: int = _setting("LOGIFLOW_DEDUPE_TAIL", 5000,
                                "Records per invoice.events partition the invoice agent reads back "
                                "after a restart or rebalance, to announce no invoice twice (a "
                                "kill -9 between the announcement and its table write).")
    instance_id: str = _setting("LOGIFLOW_INSTANCE_ID", "",
                                "This worker's static group membership id (KIP-345): a restarted "
                                "worker gets its partitions back at once, without a rebalance. "
                                "Unique per worker of an app, the same across its restarts; empty "
                                "= <host name>-<web port>.")
    session_timeout_s: float = _setting("LOGIFLOW_SESSION_TIMEOUT_S", 30.0,
                                        "How long the group waits for a silent worker (killed, "
                                        "stopped for good, cut off) before its partitions move "
                                        "to the other workers. Heartbeats go every tenth of it.")
    producer_linger_ms: float = _setting("LOGIFLOW_PRODUCER_LINGER_MS", 0.0,
                                         "How long the producer waits to batch records (throughput "
                                         "vs latency; 0 sends at once). Batched agents fill batches "
                                         "anyway; the invoice agent waits for each ack, so linger "
                                         "adds to every invoice.")

    # --- Kafka security: worker, `logiflow send`, `logiflow dlq`, the web's admin calls ----
    security_protocol: str = _setting("LOGIFLOW_SECURITY_PROTOCOL", "PLAINTEXT",
                                      "How clients reach Kafka: PLAINTEXT, SSL, SASL_SSL or "
                                      "SASL_PLAINTEXT (no TLS: a PLAIN password travels in clear).")
    sasl_mechanism: str = _setting("LOGIFLOW_SASL_MECHANISM", "SCRAM-SHA-512",
                                   "With SASL_*: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.")
    sasl_username: str = _setting("LOGIFLOW_SASL_USERNAME", "", "SASL user (SASL_* only).")
    sasl_password: str = _setting("LOGIFLOW_SASL_PASSWORD", "",
                                  "SASL password (SASL_* only); never printed or logged.", secret=True)
    ssl_cafile: str = _setting("LOGIFLOW_SSL_CAFILE", "",
                               "PEM file of the CA(s) that signed the brokers' certificates (SSL, "
                               "SASL_SSL); empty = the system's CAs. Host names are verified.")
    ssl_certfile: str = _setting("LOGIFLOW_SSL_CERTFILE", "",
                                 "Client certificate (PEM) for brokers that require one (mutual TLS); "
                                 "may hold the key too.")
    ssl_keyfile: str = _setting("LOGIFLOW_SSL_KEYFILE", "",
                                "Unencrypted private key (PEM) of LOGIFLOW_SSL_CERTFILE, if not in it.")

    # --- web -------------------------------------------------------------------------------
    web_host: str = _setting("LOGIFLOW_WEB_HOST", "127.0.0.1",
                             "Address the stats page binds to. Use 0.0.0.0 only behind a proxy.")
    web_port: int = _setting("LOGIFLOW_WEB_PORT", 6066, "Port of the stats page and JSON API.")
    web_url: str = _setting("LOGIFLOW_WEB_URL", "",
                            "URL other workers use to reach this one (table routing); empty = "
                            "http://<LOGIFLOW_WEB_HOST>:<LOGIFLOW_WEB_PORT>. Set it when binding 0.0.0.0.")
    api_token: str = _setting("LOGIFLOW_API_TOKEN", "",
                              "Token for replay/discard over HTTP; empty = the page is read-only.",
                              secret=True)

    # --- routing ---------------------------------------------------------------------------
    road_factor: float = _setting("LOGIFLOW_ROAD_FACTOR", 1.25,
                                  "Road distance / great-circle distance.")
    avg_speed_kmh: float = _setting("LOGIFLOW_AVG_SPEED_KMH", 70.0, "Average truck speed.")
    stop_dwell_min: float = _setting("LOGIFLOW_STOP_DWELL_MIN", 30.0,
                                     "Minutes spent at each intermediate stop.")
    gazetteer_file: str = _setting("LOGIFLOW_GAZETTEER_FILE", "",
                                   "Extra places (JSON, same format as the packaged gazetteer); "
                                   "re-read when a name is not found, so added places need no restart.")

    routing_batch: int = _setting("LOGIFLOW_ROUTING_BATCH", 4000,
                                  "Most route requests the routing agent holds unacked while their "
                                  "truck-table writes are folded (one write per truck per flush).")
    routing_batch_wait_s: float = _setting("LOGIFLOW_ROUTING_BATCH_WAIT_S", 0.5,
                                           "Longest the routing agent holds a truck-table write (and "
                                           "the acks of the requests it covers) before flushing it; "
                                           "each request is still answered at once.")

    # --- pricing ---------------------------------------------------------------------------
    currency: str = _setting("LOGIFLOW_CURRENCY", "EUR", "Invoice currency.")
    base_fee: Decimal = _setting("LOGIFLOW_BASE_FEE", Decimal("45.00"), "Fee per route.")
    rate_per_km: Decimal = _setting("LOGIFLOW_RATE_PER_KM", Decimal("1.20"), "Price per km.")
    fuel_surcharge_pct: Decimal = _setting("LOGIFLOW_FUEL_SURCHARGE_PCT", Decimal("8"),
                                           "Fuel surcharge, percent of the distance charge.")
    vat_pct: Decimal = _setting("LOGIFLOW_VAT_PCT", Decimal("19"), "VAT, percent of net.")
    seller_name: str = _setting("LOGIFLOW_SELLER_NAME", "LogiFlow Transport GmbH",
                                "Seller printed on invoices.")
    seller_address: str = _setting("LOGIFLOW_SELLER_ADDRESS",
                                   "Hafenstrasse 1, 20457 Hamburg, Germany",
                                   "Seller address printed on invoices.")
    seller_vat_id: str = _setting("LOGIFLOW_SELLER_VAT_ID", "DE123456789",
                                  "Seller VAT id printed on invoices.")

    # --- invoicing -------------------------------------------------------------------------
    invoice_dir: Path = _setting("LOGIFLOW_INVOICE_DIR", Path(".logiflow/invoices"),
                                 "Where invoice PDFs are written (one file per invoice id).")
    invoice_batch: int = _setting("LOGIFLOW_INVOICE_BATCH", 16,
                                  "Route events the invoice agent takes at once and renders ahead.")
    invoice_batch_wait_s: float = _setting("LOGIFLOW_INVOICE_BATCH_WAIT_S", 0.01,
                                           "Longest wait to fill an invoice batch (adds latency when idle).")
    rocksdb_write_buffer_mb: int = _setting(
        "LOGIFLOW_ROCKSDB_WRITE_BUFFER_MB", 4,
        "RocksDB memtable size per table partition (Faust's default, 64, let a worker grow by "
        "~1.5 MB per 1,000 invoices before the first flush).")
    rocksdb_block_cache_mb: int = _setting("LOGIFLOW_ROCKSDB_BLOCK_CACHE_MB", 8,
                                           "RocksDB block cache per table partition (Faust's "
                                           "default: 2048).")
    render_workers: int = _setting("LOGIFLOW_RENDER_WORKERS", 0,
                                   "PDF renderer processes; 0 = one per CPU this worker may use.")
    render_timeout_s: float = _setting("LOGIFLOW_RENDER_TIMEOUT_S", 10.0,
                                       "A render slower than this is killed and retried.")
    render_recycle_after: int = _setting("LOGIFLOW_RENDER_RECYCLE_AFTER", 500,
                                         "Renderer processes are replaced after this many invoices "
                                         "(bounds leaks in the PDF library).")
    render_fault_file: str = _setting("LOGIFLOW_RENDER_FAULT_FILE", "",
                                      "Test seam, keep empty in production: while this file "
                                      "exists, renders fail, hang or crash as its content says "
                                      "(logiflow/adapters/render_faults.py).")

    # --- failure handling ------------------------------------------------------------------
    retry_attempts: int = _setting("LOGIFLOW_RETRY_ATTEMPTS", 4,
                                   "Attempts for a transient failure before it is dead-lettered.")
    retry_base_s: float = _setting("LOGIFLOW_RETRY_BASE_S", 0.2,
                                   "First retry delay; doubles each attempt, with jitter.")
    retry_max_s: float = _setting("LOGIFLOW_RETRY_MAX_S", 5.0, "Longest retry delay.")
    breaker_threshold: int = _setting("LOGIFLOW_BREAKER_THRESHOLD", 3,
                                      "Consecutive messages failing transiently that open the "
                                      "circuit breaker (invoicing pauses, events wait in Kafka).")
    breaker_probe_s: float = _setting("LOGIFLOW_BREAKER_PROBE_S", 2.0,
                                      "Seconds between health probes while the breaker is open.")
    dlq_topic: str = _setting("LOGIFLOW_DLQ_TOPIC", topics.DLQ, "Dead-letter topic.")
    dlq_replay_cap: int = _setting("LOGIFLOW_DLQ_REPLAY_CAP", 3,
                                   "Replays per entry; at the cap an entry is parked.")
    dlq_max_value_bytes: int = _setting("LOGIFLOW_DLQ_MAX_VALUE_BYTES", 512 * 1024,
                                        "Larger payloads are truncated in the DLQ (SHA-256 kept).")
    max_message_bytes: int = _setting("LOGIFLOW_MAX_MESSAGE_BYTES", 256 * 1024,
                                      "Input messages larger than this are poison (oversized).")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``); ``overrides`` win."""
        settings = cls(**env_values(cls, env, overrides))
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject values that would only fail later, far from their cause."""
        positive = ("partitions", "replication", "render_recycle_after",
                    "invoice_batch", "routing_batch", "retry_attempts", "breaker_threshold",
                    "dlq_replay_cap", "web_port", "dedupe_tail", "rocksdb_write_buffer_mb",
                    "rocksdb_block_cache_mb")
        if self.render_workers < 0:
            raise ConfigError(f"LOGIFLOW_RENDER_WORKERS must be 0 (one per CPU) or more, got "
                              f"{self.render_workers}")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{self.env_name(name)} must be at least 1, got {getattr(self, name)}")
        # A batch wait of 0 would mean "wait until the batch is full" to Faust: never when idle.
        if not 6 <= self.session_timeout_s <= 1800:
            # The broker's group.min/max.session.timeout.ms defaults: outside them it refuses the join.
            raise ConfigError("LOGIFLOW_SESSION_TIMEOUT_S must be between 6 and 1800 seconds, got "
                              f"{self.session_timeout_s}")
        # A batch wait of 0 would mean "wait until the batch is full" to Faust: never when idle.
        for name in ("render_timeout_s", "breaker_probe_s", "invoice_batch_wait_s",
                     "routing_batch_wait_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{self.env_name(name)} must be positive, got {getattr(self, name)}")
        if not self.retry_base_s >= 0:
            raise ConfigError(f"LOGIFLOW_RETRY_BASE_S must not be negative, got {self.retry_base_s}")
        if self.avg_speed_kmh <= 0 or self.road_factor < 1:
            raise ConfigError("LOGIFLOW_AVG_SPEED_KMH must be > 0 and LOGIFLOW_ROAD_FACTOR >= 1")
        roles.parse(self.role)
        from logiflow.kafka import security

        security.validate(self)

    def __repr__(self) -> str:
        """The dataclass repr with secrets (password, API token) masked."""
        shown = ("***" if f.metadata["secret"] and getattr(self, f.name) else repr(getattr(self, f.name))
                 for f in fields(self))
        return f"Settings({', '.join(f'{f.name}={v}' for f, v in zip(fields(self), shown, strict=True))})"

    @classmethod
    def env_name(cls, field_name: str) -> str:
        return str(next(f.metadata["env"] for f in fields(cls) if f.name == field_name))

    @property
    def bootstrap_servers(self) -> str:
        """The broker list in aiokafka's form (``host:port,host:port``)."""
        # Faust accepts a scheme on every host ("kafka://a:9092;kafka://b:9092"), not just the first.
        hosts = self.broker.replace(",", ";").split(";")
        return ",".join(h.strip().split("://", 1)[-1].rstrip("/") for h in hosts if h.strip())

    @property
    def renderer_processes(self) -> int:
        """``LOGIFLOW_RENDER_WORKERS``, or the CPUs this process may run on when it is 0."""
        return self.render_workers or len(os.sched_getaffinity(0))

    @property
    def group_instance_id(self) -> str:
        """The static membership id (``LOGIFLOW_INSTANCE_ID``, or host name and web port)."""
        return self.instance_id or f"{socket.gethostname()}-{self.web_port}"

    @property
    def group_id(self) -> str:
        """This worker's consumer group and Faust app id (:func:`logiflow.roles.group_id`)."""
        return roles.group_id(self.app_id, self.role)

    @property
    def advertised_url(self) -> str:
        """This worker's URL for other workers (Faust's canonical URL)."""
        return self.web_url or f"http://{self.web_host}:{self.web_port}"

    def topic(self, name: str) -> str:
        """The full name of a pinned topic, with the deployment's prefix."""
        return f"{self.topic_prefix}{name}"


def env_values(cls: type, env: Mapping[str, str] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Field values of the settings dataclass ``cls`` found in ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(cls):
        name = f.metadata["env"]
        if name in env:
            values[f.name] = _convert(name, env[name], type(f.default))
    values.update(overrides)
    return values


def _convert(env_name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Decimal:
            return Decimal(raw)
        if issubclass(kind, Path):
            return Path(raw)
        return raw
    except (ValueError, InvalidOperation) as exc:
        raise ConfigError(f"{env_name}={raw!r} is not a valid {kind.__name__}") from exc
