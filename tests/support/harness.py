"""Real-broker test harness: worker processes, isolated settings, Kafka I/O, condition waits.

Used by tests/integration, tests/browser and bench/. Every run gets its own app id, topic
prefix, data and invoice folders and web port, so tests share one broker without interfering.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer

from logiflow.kafka.admin import read_to_end

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BROKER = os.environ.get("LOGIFLOW_TEST_BROKER", "127.0.0.1:9092")
T = TypeVar("T")


def run_sync(coro: Any) -> Any:
    """``asyncio.run(coro)``, in a helper thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isolated_env(root: Path, name: str, **overrides: Any) -> dict[str, str]:
    """Environment for one test's LogiFlow: unique app id, topics, folders and port."""
    tag = f"{name}-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    env.update({
        "LOGIFLOW_BROKER": f"kafka://{BROKER}",
        "LOGIFLOW_APP_ID": f"lf-{tag}",
        "LOGIFLOW_TOPIC_PREFIX": f"{tag}.",
        "LOGIFLOW_DATA_DIR": str(root / "data"),
        "LOGIFLOW_INVOICE_DIR": str(root / "invoices"),
        "LOGIFLOW_WEB_PORT": str(free_port()),
        "LOGIFLOW_RETRY_BASE_S": "0.05",
        "LOGIFLOW_BREAKER_PROBE_S": "0.5",
        # One renderer per test worker (the default is one per CPU): many workers share 2 cores.
        "LOGIFLOW_RENDER_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in overrides.items()})
    return env


@dataclass
class Worker:
    """One ``logiflow worker`` process."""

    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    cpus: str | None = None  # pin the worker and its renderers to these CPUs (taskset -c)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log_offset: int = field(default=0)

    @property
    def prefix(self) -> str:
        return self.env["LOGIFLOW_TOPIC_PREFIX"]

    def topic(self, name: str) -> str:
        return self.prefix + name

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.env['LOGIFLOW_WEB_PORT']}"

    def start(self, timeout: float = 90.0) -> Worker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.starts == 0:  # a fresh log per Worker: an earlier run's lines must not count
            self.log_path.write_bytes(b"")
        self._log_offset = self.log_path.stat().st_size
        log = open(self.log_path, "ab")
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        self.proc = subprocess.Popen(
            [*pin, str(BIN / "logiflow"), "worker", "-l", "info", *self.args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.log_path.parent)
        log.close()
        self.starts += 1
        wait_for(lambda: self._ready(), timeout, f"worker ready (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
        return "[^Worker]: Ready" in self.log_since_start()

    def log_since_start(self) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", "replace")

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 60.0) -> int | None:
        """Graceful stop (SIGTERM): Faust flushes and commits."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """kill -9: no flush, no commit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``logiflow <args>`` with this worker's settings."""
        result = subprocess.run([str(BIN / "logiflow"), *args], env=self.env, text=True,
                                capture_output=True, timeout=timeout, check=False,
                                cwd=self.log_path.parent)
        if check and result.returncode != 0:
            raise AssertionError(f"logiflow {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8", "replace")
        return None


Rec = tuple[bytes | None, bytes] | tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def route_request_record(truck: str, n: str, destination: str = "Munich") -> tuple[bytes, bytes]:
    """A minimal RouteRequested from Hamburg as a (key, value) record, request id ``req-{n}``."""
    return truck.encode(), json.dumps({
        "type": "RouteRequested", "requestId": f"req-{n}", "truckId": truck, "customerId": "C-1",
        "origin": "Hamburg", "destination": destination}).encode()


def produce(topic: str, records: Iterable[Rec], partition: int | None = None,
            bootstrap: str = BROKER) -> int:
    """Produce with a plain aiokafka client (not Faust); waits for every ack."""

    async def run() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures = []
            for rec in records:
                key, value = rec[0], rec[1]
                headers = rec[2] if len(rec) > 2 else None  # type: ignore[misc]
                futures.append(await producer.send(topic, value, key=key, headers=headers,
                                                   partition=partition))
            await asyncio.gather(*futures)
            return len(futures)
        finally:
            await producer.stop()

    return run_sync(run())


def read_all(topic: str, timeout: float = 10.0, bootstrap: str = BROKER) -> list[Record]:
    """Everything currently in ``topic`` (up to its end offsets at call time)."""
    return [Record(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value or b"",
                   [(k, bytes(v)) for k, v in (m.headers or [])])
            for m in run_sync(read_to_end(bootstrap, topic, timeout))]


def wait_for_count(topic: str, count: int, timeout: float) -> list[Record]:
    """Wait until ``topic`` holds at least ``count`` records; return them."""
    holder: dict[str, list[Record]] = {}

    def enough() -> bool:
        holder["r"] = read_all(topic)
        return len(holder["r"]) >= count

    try:
        wait_for(enough, timeout, f"{count} records in {topic}", interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc} (have {len(holder.get('r', []))})") from None
    return holder["r"]


def wait_stable_count(topic: str, count: int, timeout: float, settle: float = 3.0) -> list[Record]:
    """Wait for ``count`` records, then check no more arrive for ``settle`` seconds."""
    records = wait_for_count(topic, count, timeout)
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        records = read_all(topic)
        if len(records) > count:
            break
        time.sleep(0.5)
    return records
