"""LogiFlow benchmark: ``python -m bench.run`` (``make bench``), from the repository root.

Starts the local broker (idempotent), builds one set of payloads, then, ``--repeats`` times and
interleaved so that drift hits every contestant alike:

routing (``--requests`` route requests for ``--trucks`` trucks, pre-filled before timing)
  * raw aiokafka consume → plan → produce loop (:mod:`bench.raw_loop`, a subprocess), the baseline;
  * the same loop also writing each truck state to a changelog topic, as a Faust table does;
  * a real ``logiflow worker`` with invoicing paused by its circuit breaker (the renderer is made
    to fail through ``LOGIFLOW_RENDER_FAULT_FILE``), i.e. routing alone;
  * a real worker with invoicing live;
  * Faust's floor: a Faust worker configured like ours whose only agent consumes the requests
    and does nothing (:mod:`bench.faust_floor`): the ceiling for any Faust agent here;
  * peers, the same work on other stream clients, each a subprocess in its own venv
    (:mod:`bench.peers`): a confluent-kafka loop and a Quix Streams application.
  For both workers routing.events is also pre-filled with the ``--invoices`` route events, so the
  invoice agent has work from the first second (and its breaker opens at once when paused);
  otherwise Faust's consumer would hand it nothing until the pre-fetched request backlog drains.

invoicing (``--invoices`` RouteCalculated events pre-filled in routing.events)
  * end to end: a real worker, from Ready until invoice.events holds them all and every PDF exists;
  * the renderer alone: a RendererPool like the worker's rendering the same invoices, one in
    flight (the agent's pattern: the baseline) and saturated (all queued at once).

Rates are measured from the worker's "Ready" log line (or the raw loop's clients started) to the
producer timestamp of the last output record; "steady" rates span first to last output record.
Every routing contestant is also shown as a ratio to the raw loop and to Quix. Producer linger
(``--linger-ms``) and the commit interval are the same for every contestant; the settings that
still differ are printed. Runs on ``LOGIFLOW_BROKER`` when set, else on the local broker
(``LOGIFLOW_KAFKA_PORT``), which it starts when down.
Prints a table and writes ``bench/results/latest.json`` and ``latest.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
# Settings a user may set for the bench; every other LOGIFLOW_* is per-run (tests.support.harness).
PASS_THROUGH = ("LOGIFLOW_PARTITIONS", "LOGIFLOW_RENDER_WORKERS",
                "LOGIFLOW_RENDER_RECYCLE_AFTER", "LOGIFLOW_ROUTING_BATCH", "LOGIFLOW_ROUTING_BATCH_WAIT_S",
                "LOGIFLOW_INVOICE_BATCH",
                "LOGIFLOW_RENDER_TIMEOUT_S", "LOGIFLOW_STORE")
LOG_TIME = r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \[\d+\] "
READY_LINE = re.compile(LOG_TIME + r"\[INFO\] \[\^Worker\]: Ready", re.MULTILINE)
FLOOR_LINE = re.compile(r"floor: consumed (\d+) at (\d+)")
BREAKER_LINE = re.compile(LOG_TIME + r"\[WARNING\] generate_invoices: circuit breaker OPEN", re.MULTILINE)
TIMEOUT_S = 300.0
ROUTING_TARGET = 0.50
INVOICING_TARGET = 0.80
IDLE_BUSY_PCT = 10.0  # above this, something else is using the CPUs
# Every contestant commits this often: Faust's default broker_commit_interval, which the workers
# keep; the raw loop and the peers are given it.
COMMIT_INTERVAL_S = 2.8
LINGER_MS = 5.0  # librdkafka's default (and so Quix's); aiokafka's, Faust's and ours are 0
ROUTING_LABELS = {
    "routing.raw": "raw aiokafka loop (baseline)",
    "routing.rawWithChangelog": "raw loop + a state changelog write per event",
    "routing.faustInvoicingPaused": "Faust worker, invoicing paused by its breaker",
    "routing.faustInvoicingLive": "Faust worker, invoicing live",
    "routing.faustFloor": "Faust floor: same requests, agent does nothing",
    "routing.confluent": "confluent-kafka loop (peer)",
    "routing.quix": "Quix Streams app, RocksDB state (peer)",
}


def bench_broker(env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The bootstrap servers the bench uses, and whether that is the local broker.

    ``LOGIFLOW_BROKER`` when set (like every LogiFlow process), else the local broker that
    ``logiflow kafka start`` runs on ``LOGIFLOW_KAFKA_PORT``.
    """
    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.settings import Settings

    env = os.environ if env is None else env
    port = LocalBrokerSettings.from_env(env).kafka_port
    local = f"127.0.0.1:{port}"
    if "LOGIFLOW_BROKER" not in env:
        return local, True
    servers = Settings.from_env(env).bootstrap_servers
    return servers, servers in (local, f"localhost:{port}")


def log_ms(log: str, line: re.Pattern[str]) -> float | None:
    """Epoch ms of the first worker log line matching ``line`` (logged in local time, to the ms)."""
    found = line.search(log)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1000


class Bench:
    """One benchmark run: payloads, broker clients, scratch folder, and the results so far."""

    def __init__(self, opts: argparse.Namespace, broker: str) -> None:
        from bench.kafka_io import Kafka
        from logiflow.domain.geo import Gazetteer

        self.opts = opts
        self.root = Path(tempfile.mkdtemp(prefix="logiflow-bench-"))
        self.kafka = Kafka(broker)
        self.overrides = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
        # One broker and one linger for every contestant (workers, raw loop, peers).
        self.overrides.update(LOGIFLOW_BROKER=f"kafka://{broker}",
                              LOGIFLOW_PRODUCER_LINGER_MS=str(opts.linger_ms))
        # The worker's own default (one renderer per CPU), not the test harness's single one.
        self.overrides.setdefault("LOGIFLOW_RENDER_WORKERS", "0")
        self._peers_python: Path | None = None
        self.prefixes: list[str] = []  # topics to delete at the end
        self.settings = self.worker_settings(self.env("probe"))
        from bench.payloads import route_events, route_requests
        from logiflow.bootstrap import routing_params_from

        gazetteer = Gazetteer.load()
        params = routing_params_from(self.settings)
        self.requests = route_requests(opts.requests, opts.trucks, gazetteer)
        self.events = route_events(self.requests[: opts.invoices], gazetteer, params)

    @staticmethod
    def worker_settings(env: dict[str, str]) -> Any:
        from logiflow.settings import Settings

        return Settings.from_env(env)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        from tests.support.harness import isolated_env

        folder = self.root / f"{name}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        env = isolated_env(folder, f"bench-{name}", **self.overrides, **extra)
        env["LOGIFLOW_RUN_FOLDER"] = str(folder)  # not a setting: where this run's files go
        self.prefixes += [env["LOGIFLOW_TOPIC_PREFIX"], env["LOGIFLOW_APP_ID"] + "-"]
        return env

    # --- contestants ---------------------------------------------------------------------------

    async def raw_routing(self, changelog: bool = False) -> dict[str, Any]:
        extra = ["--changelog", "{changelog}"] if changelog else []
        if self.opts.profile:
            extra += ["--profile", str(RESULTS / "raw_loop.prof")]
        return await self.loop_routing("raw", [sys.executable, "-m", "bench.raw_loop", *extra])

    async def peer_routing(self, peer: str) -> dict[str, Any]:
        """A peer (:mod:`bench.peers`) in the peers' venv, created on first use."""
        if self._peers_python is None:
            from bench.peers import venv

            self._peers_python = await asyncio.to_thread(venv.ensure)
        module = {"confluent": "bench.peers.confluent_loop", "quix": "bench.peers.quix_app"}[peer]
        extra = ["--state-dir", "{folder}/quix-state"] if peer == "quix" else []
        return await self.loop_routing(peer, [str(self._peers_python), "-m", module, *extra],
                                       dated_by_outputs=peer != "quix")

    async def loop_routing(self, name: str, cmd: list[str],
                           dated_by_outputs: bool = True) -> dict[str, Any]:
        """A routing loop as a subprocess that prints one JSON line: the raw loop or a peer.

        The rates run to the producer timestamp of the last output (from ``readyMs``, and from
        the first output for the steady rate) when ``dated_by_outputs``; otherwise (Quix stamps
        outputs with their input's time) to the ``firstMs``/``lastMs`` the loop noted itself.
        """
        from tests.support.harness import REPO

        env = self.env(name)
        s = self.worker_settings(env)
        source, sink = s.topic("routing.requests"), s.topic("routing.events")
        states = s.topic("truck-routes-changelog")
        group = env["LOGIFLOW_APP_ID"]
        if name == "quix":
            self.prefixes.append(f"changelog__{group}--")  # its state store's changelog topic
        await self.kafka.create_topics([source, sink, states], s.partitions)
        await self.kafka.produce(source, self.requests)
        cmd = [a.format(changelog=states, folder=env["LOGIFLOW_RUN_FOLDER"]) for a in cmd]
        cmd += ["--source", source, "--sink", sink, "--group", group,
                "--count", str(len(self.requests)), "--commit-interval", str(COMMIT_INTERVAL_S)]
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=REPO, env=env,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"{name} loop exited {proc.returncode}:\n{err.decode()[-3000:]}")
        result = json.loads(out.decode().strip().splitlines()[-1])
        span = await self.kafka.span(sink)
        assert span.count == len(self.requests) and result["rejected"] == 0, (span, result)
        ready = result["readyMs"]
        first, last = ((span.first_ms, span.last_ms) if dated_by_outputs
                       else (result["firstMs"], result["lastMs"]))
        n = len(self.requests)
        return {"eventsPerS": n / max(1e-3, (last - ready) / 1000),
                "steadyEventsPerS": (n - 1) / max(1e-3, (last - first) / 1000),
                "startupS": (first - ready) / 1000, "vmHwmKb": result["vmHwmKb"],
                "cpuUsPerEvent": result["cpuS"] / n * 1e6,
                **({"client": result["client"]} if "client" in result else {})}

    async def faust_routing(self, invoicing: str) -> dict[str, Any]:
        from logiflow import topics

        extra = {}
        if invoicing == "paused":
            fault = self.root / f"render-fault-{uuid.uuid4().hex[:6]}"
            fault.write_text("fail")  # every render and health probe fails: the breaker opens
            extra["LOGIFLOW_RENDER_FAULT_FILE"] = str(fault)
        env = self.env(f"route-{invoicing}", **extra)
        s = self.worker_settings(env)
        requests, events = s.topic(topics.ROUTE_REQUESTS), s.topic(topics.ROUTING_EVENTS)
        invoices = s.topic(topics.INVOICE_EVENTS)
        await self.kafka.create_topics([requests, events, invoices], s.partitions)
        await self.kafka.produce(requests, self.requests)
        await self.kafka.produce(events, self.events)  # the invoice agent's backlog
        since = await self.kafka.ends(events)
        wanted = len(self.events) + len(self.requests)

        async def done() -> None:
            await self.kafka.wait_count(events, wanted, TIMEOUT_S, "routing")

        run = await self.with_worker(env, done, graceful=invoicing != "paused")
        invoiced = await self.kafka.count(invoices)
        span = await self.kafka.span(events, since)
        log = run.pop("log")
        opened = log_ms(log, BREAKER_LINE)
        if invoicing == "paused" and opened is None:
            raise RuntimeError("the invoice agent's breaker never opened; see " + run["logPath"])
        return {**run, "eventsPerS": span.rate_from(run["readyMs"]),
                "steadyEventsPerS": span.steady_rate,
                "startupS": (span.first_ms - run["readyMs"]) / 1000,
                "invoicesMeanwhile": invoiced,
                # The worker's CPU (every thread, renderers excluded) per routed request.
                "cpuUsPerEvent": run["cpuS"] / len(self.requests) * 1e6,
                "breakerOpenAfterS": None if opened is None else (opened - run["readyMs"]) / 1000}

    async def faust_floor(self) -> dict[str, Any]:
        """Faust's own per-event cost: the same requests into an agent that does nothing."""
        from bench.procinfo import vm_hwm_kb
        from tests.support.harness import BIN, REPO, wait_for

        env = self.env("floor")
        s = self.worker_settings(env)
        source = s.topic("routing.requests")
        await self.kafka.create_topics([source], s.partitions)
        await self.kafka.produce(source, self.requests)
        env.update(BENCH_FLOOR_TOPIC=source, BENCH_FLOOR_COUNT=str(len(self.requests)))
        log_path = Path(env["LOGIFLOW_RUN_FOLDER"]) / "floor.log"
        with open(log_path, "wb") as out:  # noqa: ASYNC230 - once, before the worker starts
            proc = await asyncio.create_subprocess_exec(
                str(BIN / "faust"), "-A", "bench.faust_floor", "worker", "-l", "info",
                cwd=REPO, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT)
        try:
            def done() -> bool:
                if proc.returncode is not None:
                    raise RuntimeError(f"floor worker exited; see {log_path}")
                return FLOOR_LINE.search(log_path.read_text("utf-8", "replace")) is not None
            await asyncio.to_thread(wait_for, done, TIMEOUT_S, f"floor worker done ({log_path})", 0.2)
            hwm = vm_hwm_kb(proc.pid)
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
        log = log_path.read_text("utf-8", "replace")
        ready = log_ms(log, READY_LINE)
        found = FLOOR_LINE.search(log)
        assert ready is not None and found is not None, log_path
        last_ms = int(found.group(2))
        return {"eventsPerS": len(self.requests) / max(1e-3, (last_ms - ready) / 1000),
                "vmHwmKb": hwm}

    async def faust_invoicing(self) -> dict[str, Any]:
        from logiflow import topics

        env = self.env("invoice")
        s = self.worker_settings(env)
        events, invoices = s.topic(topics.ROUTING_EVENTS), s.topic(topics.INVOICE_EVENTS)
        await self.kafka.create_topics([s.topic(topics.ROUTE_REQUESTS), events, invoices],
                                       s.partitions)
        await self.kafka.produce(events, self.events)
        pdf_dir, wanted = Path(s.invoice_dir), len(self.events)

        async def done() -> None:
            await self.kafka.wait_count(invoices, wanted, TIMEOUT_S, "invoicing")
            while (have := await asyncio.to_thread(_pdfs, pdf_dir)) < wanted:
                if have < 0:
                    raise RuntimeError(f"no invoice folder {pdf_dir}")
                await asyncio.sleep(0.1)

        run = await self.with_worker(env, done)
        run.pop("log")
        span = await self.kafka.span(invoices)
        if span.count != wanted:
            raise RuntimeError(f"{span.count} InvoiceGenerated for {wanted} route events")
        return {**run, "invoicesPerS": span.rate_from(run["readyMs"]),
                "steadyInvoicesPerS": span.steady_rate,
                "startupS": (span.first_ms - run["readyMs"]) / 1000}

    async def with_worker(self, env: dict[str, str], until: Callable[[], Awaitable[None]],
                          graceful: bool = True) -> dict[str, Any]:
        """Start a worker, wait for ``until``, note its peak RSS, stop it.

        ``graceful=False`` kills it instead: a worker whose breaker is open waits for the
        dependency before it can shut down, and nothing of a bench worker needs saving.
        """
        from bench.procinfo import cpu_s, vm_hwm_kb
        from tests.support.harness import Worker

        worker = Worker(env, Path(env["LOGIFLOW_RUN_FOLDER"]) / "worker.log")
        await asyncio.to_thread(worker.start)
        started = log_ms(worker.log_since_start(), READY_LINE) or time.time() * 1000
        assert worker.proc is not None
        ready_cpu = cpu_s(worker.proc.pid) or 0.0  # start-up excluded, as for the loops
        try:
            await until()
            hwm = vm_hwm_kb(worker.proc.pid)
            cpu = (cpu_s(worker.proc.pid) or 0.0) - ready_cpu
        finally:
            if graceful:
                await asyncio.to_thread(worker.stop, 30.0)
            else:
                await asyncio.to_thread(worker.kill)
        log = worker.log_text()
        dead = log.count("dead-lettering")
        if dead:
            raise RuntimeError(f"{dead} messages were dead-lettered; see {worker.log_path}")
        return {"readyMs": started, "vmHwmKb": hwm, "cpuS": cpu, "log": log,
                "logPath": str(worker.log_path)}

    async def renderer_alone(self, saturated: bool) -> dict[str, Any]:
        """The worker's renderer configuration, rendering the same invoices, no Kafka."""
        from logiflow.bootstrap import rates_from, renderer_from, seller_from
        from logiflow.domain.invoice import price_route
        from logiflow.wire import decode_route_calculated

        rates, seller = rates_from(self.settings), seller_from(self.settings)
        invoices = [price_route(decode_route_calculated(value, key), rates, seller)
                    for key, value in self.events]
        pool = renderer_from(self.settings)
        await pool.start()
        try:
            began = time.perf_counter()
            if saturated:
                await asyncio.gather(*(pool.render(invoice) for invoice in invoices))
            else:
                for invoice in invoices:
                    await pool.render(invoice)
            seconds = time.perf_counter() - began
        finally:
            await pool.stop()
        return {"invoicesPerS": len(invoices) / seconds, "seconds": seconds}

    # --- the run -------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        contestants: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "routing.raw": self.raw_routing,
            "routing.rawWithChangelog": lambda: self.raw_routing(changelog=True),
            "routing.faustInvoicingPaused": lambda: self.faust_routing("paused"),
            "routing.faustInvoicingLive": lambda: self.faust_routing("live"),
            "routing.faustFloor": self.faust_floor,
            "routing.confluent": lambda: self.peer_routing("confluent"),
            "routing.quix": lambda: self.peer_routing("quix"),
            "invoicing.endToEnd": self.faust_invoicing,
            "invoicing.rendererOneInFlight": lambda: self.renderer_alone(saturated=False),
            "invoicing.rendererSaturated": lambda: self.renderer_alone(saturated=True),
        }
        if self.opts.only:
            unknown = sorted(set(self.opts.only) - set(contestants))
            if unknown:
                raise SystemExit(f"--only: unknown contestant(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(contestants)}")
            contestants = {k: v for k, v in contestants.items() if k in self.opts.only}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contestants}
        await self.kafka.start()
        try:
            for rep in range(1, self.opts.repeats + 1):
                for name, contestant in contestants.items():
                    began = time.monotonic()
                    runs[name].append(await contestant())
                    print(f"  [{rep}/{self.opts.repeats}] {name:32} {_headline(runs[name][-1])}"
                          f"  ({time.monotonic() - began:.0f} s)", flush=True)
            if not self.opts.keep:
                await self.kafka.delete_topics_with(self.prefixes)
        finally:
            await self.kafka.stop()
        if not self.opts.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        return runs


def _pdfs(folder: Path) -> int:
    try:
        return sum(1 for e in os.scandir(folder) if e.name.endswith(".pdf"))
    except FileNotFoundError:
        return 0


def _headline(result: dict[str, Any]) -> str:
    for key in ("eventsPerS", "invoicesPerS"):
        if key in result:
            cpu = result.get("cpuUsPerEvent")
            return (f"{result[key]:9,.0f} {'events' if key == 'eventsPerS' else 'invoices'}/s"
                    + (f", {cpu:5.0f} µs CPU/event" if cpu is not None else ""))
    return ""


def summarize(values: list[float]) -> dict[str, float]:
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values),
            "spreadPct": (max(values) - min(values)) / med * 100 if med else 0.0}


def build_results(opts: argparse.Namespace, bench: Bench, runs: dict[str, list[dict[str, Any]]],
                  wall_s: float, busy: tuple[float, float]) -> dict[str, Any]:
    from bench.compare import routing_comparison
    from bench.procinfo import cpu_count, cpu_model
    from logiflow.kafka.local_broker import kafka_version

    def stat(name: str, key: str) -> dict[str, float]:
        return summarize([r[key] for r in runs[name]])

    routing = {
        **{name.split(".")[1]: stat(name, "eventsPerS") for name in ROUTING_LABELS},
        "steady": {name.split(".")[1]: stat(name, "steadyEventsPerS")
                   for name in runs if name.startswith("routing.") and "steadyEventsPerS" in runs[name][0]},
    }
    invoicing = {
        "endToEnd": stat("invoicing.endToEnd", "invoicesPerS"),
        "endToEndSteady": stat("invoicing.endToEnd", "steadyInvoicesPerS"),
        "rendererOneInFlight": stat("invoicing.rendererOneInFlight", "invoicesPerS"),
        "rendererSaturated": stat("invoicing.rendererSaturated", "invoicesPerS"),
    }
    raw = routing["raw"]["median"]
    one = invoicing["rendererOneInFlight"]["median"]
    ratios = {
        "routingPausedVsRaw": routing["faustInvoicingPaused"]["median"] / raw,
        "routingLiveVsRaw": routing["faustInvoicingLive"]["median"] / raw,
        "faustFloorVsRaw": routing["faustFloor"]["median"] / raw,
        "routingPausedVsFaustFloor": routing["faustInvoicingPaused"]["median"]
        / routing["faustFloor"]["median"],
        "invoicingVsRendererOneInFlight": invoicing["endToEnd"]["median"] / one,
        "invoicingVsRendererSaturated":
            invoicing["endToEnd"]["median"] / invoicing["rendererSaturated"]["median"],
    }
    hwm = {name.split(".")[1]: max(r["vmHwmKb"] or 0 for r in rs)
           for name, rs in runs.items() if rs and "vmHwmKb" in rs[0]}
    live, paused = runs["routing.faustInvoicingLive"], runs["routing.faustInvoicingPaused"]
    return {
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"nproc": cpu_count(), "cpu": cpu_model(), "python": sys.version.split()[0],
                    "kafka": kafka_version(), "broker": bench.kafka.bootstrap,
                    # CPU busy just before and after the run: other work on the machine competes.
                    "cpuBusyBeforePct": round(busy[0], 1), "cpuBusyAfterPct": round(busy[1], 1)},
        "parameters": {"requests": opts.requests, "trucks": opts.trucks, "invoices": opts.invoices,
                       "repeats": opts.repeats, "partitions": bench.settings.partitions,
                       "renderWorkers": bench.settings.renderer_processes,
                       "renderRecycleAfter": bench.settings.render_recycle_after,
                       "producerLingerMs": opts.linger_ms, "commitIntervalS": COMMIT_INTERVAL_S},
        "routing": routing,
        "routingComparison": routing_comparison(runs),
        "contestantSettings": peer_settings(opts, bench, runs),
        "invoicing": invoicing,
        "ratios": ratios,
        "targets": {"routingVsRaw": ROUTING_TARGET, "invoicingVsRenderer": INVOICING_TARGET,
                    "routingMet": ratios["routingPausedVsRaw"] >= ROUTING_TARGET,
                    "invoicingMet": ratios["invoicingVsRendererOneInFlight"] >= INVOICING_TARGET},
        "workerPeakRssKb": hwm,
        "invoicesDuringLiveRouting": statistics.median(r["invoicesMeanwhile"] for r in live),
        "breakerOpenAfterS": statistics.median(r["breakerOpenAfterS"] for r in paused),
        "wallSeconds": round(wall_s, 1),
        "runs": {name: [{k: v for k, v in r.items() if k not in ("logPath",)} for r in rs]
                 for name, rs in runs.items()},
    }


def peer_settings(opts: argparse.Namespace, bench: Bench,
                  runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, str]]:
    from bench.compare import contestant_settings

    return contestant_settings(runs, opts.linger_ms, COMMIT_INTERVAL_S, bench.settings.routing_batch)


def render_text(r: dict[str, Any]) -> str:
    from bench.compare import render as render_comparison

    m, p = r["machine"], r["parameters"]

    def row(label: str, s: dict[str, float], unit: str) -> str:
        return (f"  {label:46} {s['median']:9,.0f} {unit}   "
                f"[{s['min']:,.0f} to {s['max']:,.0f}, spread {s['spreadPct']:.0f}%]")

    def verdict(ratio: float, target: float) -> str:
        return f"{ratio:6.0%}   target ≥ {target:.0%}: {'met' if ratio >= target else 'MISSED'}"

    ro, inv, ra, st = r["routing"], r["invoicing"], r["ratios"], r["routing"]["steady"]
    busy = max(m["cpuBusyBeforePct"], m["cpuBusyAfterPct"])
    lines = [
        f"LogiFlow bench {r['date']}: {m['nproc']} x {m['cpu']}, Python {m['python']}, "
        f"Kafka {m['kafka']} at {m['broker']}",
        f"median of {p['repeats']} runs [min to max, spread = (max-min)/median]; "
        f"whole run {r['wallSeconds']:.0f} s; command: {r['command']}",
        f"CPU busy before / after the run: {m['cpuBusyBeforePct']:.0f}% / {m['cpuBusyAfterPct']:.0f}%"
        + (" -- WARNING: the machine was not idle; other work competed with the bench"
           if busy > IDLE_BUSY_PCT else " (idle)"),
        "",
        f"Routing: {p['requests']:,} requests, {p['trucks']} trucks (1 in 10 with 1-3 stops), "
        f"{p['partitions']} partitions, pre-filled; Ready → last output",
        *(row(label, ro[name.split(".")[1]], "events/s") for name, label in ROUTING_LABELS.items()),
        "  steady (first → last output): raw {raw:,.0f}, raw + changelog {rawWithChangelog:,.0f}, "
        "paused {faustInvoicingPaused:,.0f}, live {faustInvoicingLive:,.0f}, "
        "confluent {confluent:,.0f}, Quix {quix:,.0f} events/s".format(
            **{k: v["median"] for k, v in st.items()}),
        f"  invoices issued during the live run (median): {r['invoicesDuringLiveRouting']:,.0f}; "
        f"breaker open {r['breakerOpenAfterS']:.1f} s after Ready in the paused run",
        f"  Faust (invoicing paused) / raw               {verdict(ra['routingPausedVsRaw'], ROUTING_TARGET)}",
        f"  Faust (invoicing live) / raw                 {ra['routingLiveVsRaw']:6.0%}",
        f"  Faust floor (no work at all) / raw           {ra['faustFloorVsRaw']:6.0%}",
        f"  Faust (invoicing paused) / Faust floor       {ra['routingPausedVsFaustFloor']:6.0%}",
        "",
        *render_comparison(r["routingComparison"], r["contestantSettings"], ROUTING_LABELS),
        "",
        f"Invoicing: {p['invoices']:,} RouteCalculated pre-filled, {p['renderWorkers']} renderer "
        f"process(es), recycled every {p['renderRecycleAfter']}",
        row("end to end (Ready → all InvoiceGenerated + PDFs)", inv["endToEnd"], "invoices/s"),
        row("renderer alone, 1 in flight (baseline)", inv["rendererOneInFlight"], "invoices/s"),
        row("renderer alone, saturated", inv["rendererSaturated"], "invoices/s"),
        f"  end to end / renderer 1 in flight            "
        f"{verdict(ra['invoicingVsRendererOneInFlight'], INVOICING_TARGET)}",
        f"  end to end / renderer saturated              {ra['invoicingVsRendererSaturated']:6.0%}",
        "",
        "Peak RSS (VmHWM, max over runs): " + ", ".join(
            f"{k} {v / 1024:.0f} MiB" for k, v in r["workerPeakRssKb"].items()),
    ]
    return "\n".join(lines) + "\n"


def write_results(results: dict[str, Any], text: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    for name, content in (("latest.json", json.dumps(results, indent=2) + "\n"),
                          ("latest.txt", text)):
        tmp = RESULTS / f"{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(RESULTS / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=(__doc__ or "").split("\n\n")[0])
    # 100,000: at ~17,000/s the raw loop's run lasts ~6 s, long enough to measure throughput
    # rather than start-up (reported apart: startupS in the JSON).
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--trucks", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="keep the topics and the scratch folder (worker logs) for inspection")
    parser.add_argument("--profile", action="store_true",
                        help="run the raw loop under cProfile (bench/results/raw_loop.prof)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these contestants (e.g. routing.raw routing.confluent "
                             "routing.quix) and print their figures; nothing is written to "
                             "bench/results")
    parser.add_argument("--linger-ms", type=float,
                        default=float(os.environ.get("LOGIFLOW_PRODUCER_LINGER_MS", LINGER_MS)),
                        help="producer linger for every contestant (default: "
                             f"LOGIFLOW_PRODUCER_LINGER_MS if set, else {LINGER_MS:g}, librdkafka's)")
    opts = parser.parse_args(argv)
    if opts.invoices > opts.requests:
        parser.error("--invoices cannot exceed --requests")

    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.kafka.local_broker import LocalKafka

    broker, local = bench_broker()

    # aiokafka warns while a just-created topic elects its leaders, then retries: not news here.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    from bench.procinfo import cpu_busy_pct

    began = time.monotonic()
    busy_before = cpu_busy_pct(2.0)
    if busy_before > IDLE_BUSY_PCT:
        print(f"WARNING: {busy_before:.0f}% of the CPUs are busy before the bench starts; "
              "other work will skew the figures", flush=True)
    if local:
        print(LocalKafka(LocalBrokerSettings.from_env()).start().describe(), flush=True)  # idempotent
    else:
        print(f"broker {broker} (LOGIFLOW_BROKER; not started by the bench)", flush=True)
    bench = Bench(opts, broker)
    print(f"scratch folder {bench.root}", flush=True)
    runs = asyncio.run(bench.run())
    if opts.only:
        from bench.compare import render as render_comparison
        from bench.compare import routing_comparison

        if any(name.startswith("routing.") for name in runs):
            print("\n" + "\n".join(render_comparison(routing_comparison(runs),
                                                      peer_settings(opts, bench, runs),
                                                      ROUTING_LABELS)))
        return
    busy = (busy_before, cpu_busy_pct(2.0))
    results = build_results(opts, bench, runs, time.monotonic() - began, busy)
    text = render_text(results)
    write_results(results, text)
    print("\n" + text + f"written: {RESULTS / 'latest.json'}, {RESULTS / 'latest.txt'}")


if __name__ == "__main__":  # the renderer's fork server re-imports this module: keep it inert
    main()
