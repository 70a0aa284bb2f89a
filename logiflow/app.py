"""The Faust app: ``logiflow worker`` (= ``faust -A logiflow.app worker``).

:func:`create_app` is a real factory: each app gets its own settings, topics (``app.app_topics``)
and dependency container (``app.deps``), so two apps built with different settings never touch
each other's topics or renderers. Faust's command line needs a module-level ``app``; building it
reads the environment and nothing else (no folder is created, no file read, nothing connects).

Roles (:mod:`logiflow.roles`, ``LOGIFLOW_ROLE``): the app's id is the role's consumer group, and
:meth:`LogiflowApp.agent` and :meth:`LogiflowApp.Table` declare only the agents and tables of
the worker's role (an agent of another role stays a plain function, a table of another role is
an :class:`~logiflow.roles.AbsentTable`), so ``agents/`` and ``tables/`` need no role logic.
Every table's changelog keeps the name ``<LOGIFLOW_APP_ID>-<table>-changelog`` whatever the role.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from typing import Any

import faust
from faust.app.base import SCAN_IGNORE

from logiflow import roles
from logiflow.bootstrap import Deps, build_deps
from logiflow.kafka.admin import COMPACTED, TopicSpec, ensure_topics
from logiflow.kafka.security import faust_credentials
from logiflow.processing import faust_compat
from logiflow.processing.log_limits import BrokerWatch, RepeatLimiter
from logiflow.settings import Settings
from logiflow.topics import AppTopics


class LogiflowApp(faust.App):
    """Faust's App, plus the worker resources that must exist before agents consume."""

    deps: Deps
    app_topics: AppTopics
    settings: Settings
    broker_watch: BrokerWatch

    def agent(self, channel: Any = None, *, name: str | None = None, **kwargs: Any) -> Any:
        """Faust's ``app.agent``, except that an agent of a role this worker does not run is
        left undeclared (the decorator returns the function as it is)."""
        role = roles.role_of_agent(name)  # every agent has a pinned name and a role
        if not roles.runs(self.settings.role, role):
            return lambda fun: fun
        return super().agent(channel, name=name, **kwargs)

    def Table(self, name: str, *, default: Any = None, window: Any = None,
              partitions: int | None = None, help: str | None = None, **kwargs: Any) -> Any:
        """Faust's ``app.Table`` with the changelog topic name pinned to the app id (not the
        role's group id); a table of a role this worker does not run is only an AbsentTable."""
        role = roles.role_of_table(name)
        changelog = roles.changelog_topic(self.settings.app_id, name)
        if not roles.runs(self.settings.role, role):
            return roles.AbsentTable(name, role, changelog, partitions)
        table_type: Any = self.conf.Table  # what Faust's own app.Table builds
        # Bounded RocksDB memory per table partition (Faust opens one database per partition).
        mb = 1024 * 1024
        options = {"write_buffer_size": self.settings.rocksdb_write_buffer_mb * mb,
                   "max_write_buffer_number": 2,
                   "block_cache_size": self.settings.rocksdb_block_cache_mb * mb,
                   "block_cache_compressed_size": self.settings.rocksdb_block_cache_mb * mb}
        table = table_type(self, name=name, default=default, beacon=self.tables.beacon,
                           partitions=partitions, help=help, options=options, **kwargs)
        # A clone keeps every setting Faust gave the changelog (compacted, internal, no acks...).
        table.changelog_topic = table.changelog_topic.clone(topics=[changelog], root=None)
        self.tables.add(table)
        return table.using_window(window) if window else table

    def discover(self, *extra_modules: str, categories: Any = None,
                 ignore: Iterable[Any] = SCAN_IGNORE) -> None:
        """Faust's autodiscovery (it imports every module of ``logiflow``), except the PDF
        adapter on a worker that does not invoice: only renderer processes need reportlab."""
        if not roles.runs(self.settings.role, roles.INVOICING):
            ignore = [*ignore, *INVOICING_ONLY_MODULES]
        super().discover(*extra_modules, categories=categories, ignore=ignore)

    async def on_first_start(self) -> None:
        # Faust creates its data folder here, but not the folders above it.
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A broker outage must not write thousands of lines a minute (aiokafka logs every retry).
        limiter = RepeatLimiter(on_connection_error=self.broker_watch.unreachable)
        for handler in logging.getLogger().handlers:
            handler.addFilter(limiter)
        await super().on_first_start()

    async def on_start(self) -> None:
        # Runs before the producer, consumer and agents start: Faust's internals are checked,
        # topics and table changelogs exist with the right partitions before we subscribe (Faust
        # ignores a missing topic at assignment and reads a new changelog as 0 partitions),
        # the renderer runs before the first invoice.
        faust_compat.check(self)
        sources = [t.get_topic_name() for t in self.app_topics.sources()]
        faust_compat.install_ack_guard(self, sources)
        faust_compat.install_commit_guard(self, sources)
        faust_compat.install_drop_guard(self, sources)
        faust_compat.keep_buffers_on_resume(self)
        faust_compat.make_producer_idempotent(self)
        await super().on_start()  # finalizes the app: autodiscovery has declared every table
        await ensure_topics(self.settings, self.topic_specs())
        await self.deps.start()

    def topic_specs(self) -> list[TopicSpec]:
        """Every topic the app reads or writes, table changelogs included (compacted)."""
        specs = [TopicSpec(name, n) for name, n in self.app_topics.partitions_of()]
        for table in self.tables.values():
            specs.append(TopicSpec(table.changelog_topic.get_topic_name(),
                                   table.partitions or self.conf.topic_partitions, COMPACTED))
        return specs

    async def on_stop(self) -> None:
        # With the broker unreachable, Faust's consumer would wait for it (the stop took over a
        # minute): give the stop a bounded grace, then end the process. Nothing is lost by
        # it: tables are closed first, no offset can be committed without a broker, and every
        # event not committed is delivered again; renderer processes exit when their pipe closes.
        down_for = self.broker_watch.down_for_s
        if down_for is not None:
            self.log.warning("Kafka broker unreachable for %.0f s: stopping without waiting for "
                             "it (at most %.0f s)", down_for, STOP_GRACE_S)
            asyncio.get_running_loop().call_later(STOP_GRACE_S, _exit_now)
        await super().on_stop()

    async def on_shutdown(self) -> None:
        # After the agents stopped: no render is in flight any more.
        await self.deps.stop()
        await super().on_shutdown()


STOP_GRACE_S = 6.0
# The one module that imports reportlab (renderer processes import it themselves).
INVOICING_ONLY_MODULES = ("logiflow.adapters.pdf",)


def _exit_now() -> None:
    logging.getLogger(__name__).warning("stopped without the broker: uncommitted events will be "
                                        "delivered again after the restart")
    logging.shutdown()
    os._exit(0)


def create_app(settings: Settings) -> LogiflowApp:
    app = LogiflowApp(
        settings.group_id,  # the role's consumer group (the app id itself for role all)
        broker=settings.broker,
        broker_credentials=faust_credentials(settings),  # SASL/TLS: logiflow.kafka.security
        store=settings.store,
        datadir=str((settings.data_dir / settings.group_id).absolute()),
        autodiscover=["agents", "tables", "logiflow.web"],
        origin="logiflow",
        # Values stay raw bytes end to end: our decoders see exactly what producers sent (so
        # the DLQ can keep undecodable payloads), and `logiflow send` sends its text verbatim.
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        consumer_auto_offset_reset="earliest",
        # Static membership: a worker restarted (even after kill -9) rejoins with the same id and
        # gets its partitions back at once instead of leaving them idle for a session timeout.
        consumer_group_instance_id=settings.group_instance_id,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 10,
        producer_acks=-1,
        producer_linger=settings.producer_linger_ms / 1000,
        # Faust's repaired Cython fast path: a stream takes an event already queued without
        # awaiting the channel (bench: routing ~5% faster). Opt-in in faust-streaming 0.14+;
        # the whole test suite runs with it.
        cython_optimizations=True,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        canonical_url=settings.advertised_url,
        # Safe by default: no table dumps, no router/graph/stats pages of Faust's own.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
    )
    app.settings = settings
    app.app_topics = AppTopics(app, settings.topic_prefix, settings.partitions,
                               settings.dlq_topic)
    app.deps = build_deps(settings, app)
    app.broker_watch = BrokerWatch()
    return app


app = create_app(Settings.from_env())
