"""The dependency container: every collaborator the agents and the web use, built from settings.

``create_app`` (:mod:`logiflow.app`) builds one :class:`Deps` per app and attaches it as
``app.deps``; agents and web handlers read it when they run, never at import. Functional tests
and benchmarks swap the whole object (fakes in, no processes) without touching agent code.

The mappers (``rates_from``, ``seller_from``, ``routing_params_from``, ``renderer_from``) are
the only code that knows how settings become domain and adapter configuration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logiflow import roles, topics
from logiflow.domain.geo import Gazetteer
from logiflow.domain.invoice import Party, Rates
from logiflow.domain.routing import RoutingParams
from logiflow.ports import EventLog, InvoiceStore, Publisher, Renderer
from logiflow.processing.failure_policy import CircuitBreaker, FailurePolicy
from logiflow.processing.metrics import Metrics
from logiflow.settings import Settings

if TYPE_CHECKING:
    from logiflow.adapters.render_pool import RendererPool

log = logging.getLogger(__name__)


def rates_from(settings: Settings) -> Rates:
    return Rates(currency=settings.currency, base_fee=settings.base_fee,
                 rate_per_km=settings.rate_per_km, fuel_surcharge_pct=settings.fuel_surcharge_pct,
                 vat_pct=settings.vat_pct)


def seller_from(settings: Settings) -> Party:
    return Party(name=settings.seller_name, address=settings.seller_address,
                 vat_id=settings.seller_vat_id)


def routing_params_from(settings: Settings) -> RoutingParams:
    return RoutingParams(road_factor=settings.road_factor, avg_speed_kmh=settings.avg_speed_kmh,
                         stop_dwell_min=settings.stop_dwell_min)


def renderer_from(settings: Settings) -> RendererPool:
    """The renderer process pool (imports nothing heavy until it starts)."""
    from logiflow.adapters.render_pool import RendererPool

    return RendererPool(workers=settings.renderer_processes, timeout_s=settings.render_timeout_s,
                        recycle_after=settings.render_recycle_after,
                        fault_file=settings.render_fault_file)


def load_gazetteer(settings: Settings) -> Gazetteer:
    """The packaged gazetteer plus the operator's file (reads files: call at start, not import)."""
    return Gazetteer.load(Path(settings.gazetteer_file) if settings.gazetteer_file else None)


@dataclass
class Deps:
    """What the agents and the web need. Nothing here connects or starts at construction."""

    settings: Settings
    publisher: Publisher
    renderer: Renderer
    store: InvoiceStore
    routing: RoutingParams
    rates: Rates
    seller: Party
    event_log: EventLog
    metrics: Metrics = field(default_factory=Metrics)
    policies: dict[str, FailurePolicy] = field(default_factory=dict)
    _gazetteer: Gazetteer | None = None
    _started: bool = False

    @property
    def gazetteer(self) -> Gazetteer:
        """The gazetteer, loaded by :meth:`start` (or on first use, e.g. in a test)."""
        if self._gazetteer is None:
            self._gazetteer = load_gazetteer(self.settings)
        return self._gazetteer

    def policy(self, agent: str) -> FailurePolicy:
        """The failure policy of ``agent`` (see :func:`add_policies`)."""
        return self.policies[agent]

    @property
    def breakers(self) -> list[CircuitBreaker]:
        return [p.breaker for p in self.policies.values()]

    @property
    def invoicing(self) -> bool:
        """Whether this worker's role invoices: only then are renderers and the store started."""
        return roles.runs(self.settings.role, roles.INVOICING)

    async def start(self) -> None:
        """Load reference data and start the adapters that own processes. Idempotent.

        A worker that does not invoice never starts renderer processes (nor imports reportlab).
        """
        if not self._started:
            _ = self.gazetteer
            if self.invoicing:
                swept = await asyncio.to_thread(self.store.sweep)
                if swept:
                    log.info("removed %d temporary files of interrupted invoice writes", swept)
                await self.renderer.start()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            if self.invoicing:
                await self.renderer.stop()
            self._started = False


@dataclass(frozen=True)
class Flow:
    """How a policy pauses and resumes its agent's source partitions, and sees a shutdown."""

    pause: Callable[[], Any] | None = None
    resume: Callable[[], Any] | None = None
    stopping: Callable[[], bool] = lambda: False


def add_policies(deps: Deps, invoicing_flow: Flow,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Deps:
    """Build each agent's failure policy (and so its circuit breaker) into ``deps``."""
    s, pub, m = deps.settings, deps.publisher, deps.metrics
    deps.policies = {
        topics.CALCULATE_ROUTES: FailurePolicy(topics.CALCULATE_ROUTES, s, pub, m, sleep=sleep),
        topics.GENERATE_INVOICES: FailurePolicy(
            topics.GENERATE_INVOICES, s, pub, m, health_check=lambda: deps.renderer.healthy(),
            pause=invoicing_flow.pause, resume=invoicing_flow.resume,
            stopping=invoicing_flow.stopping, sleep=sleep),
    }
    return deps


def faust_flow(app: Any, source_topic: str) -> Flow:
    """Pause/resume ``source_topic``'s assigned partitions on the app's consumer."""

    def assigned() -> set[Any]:
        return {tp for tp in app.consumer.assignment() if tp.topic == source_topic}

    return Flow(pause=lambda: app.consumer.pause_partitions(assigned()),
                resume=lambda: app.consumer.resume_partitions(assigned()),
                stopping=lambda: bool(app.should_stop))


def build_deps(settings: Settings, app: Any) -> Deps:
    """The real adapters for a worker of ``app``. Nothing connects or starts here."""
    from logiflow.adapters.invoice_store import FileInvoiceStore
    from logiflow.adapters.kafka_event_log import KafkaEventLog
    from logiflow.adapters.kafka_publisher import FaustPublisher

    deps = Deps(settings=settings, publisher=FaustPublisher(app), renderer=renderer_from(settings),
                store=FileInvoiceStore(settings.invoice_dir),
                routing=routing_params_from(settings), rates=rates_from(settings),
                seller=seller_from(settings), event_log=KafkaEventLog(settings))
    return add_policies(deps, faust_flow(app, settings.topic(topics.ROUTING_EVENTS)))
