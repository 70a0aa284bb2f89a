"""The local broker's processes: pid files, signals, and the "does it answer?" probe."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

from logiflow.kafka.nodes import Node


def terminate(nodes: list[Node], sig: signal.Signals, timeout_s: float) -> bool:
    """Send ``sig`` to every running node at once; SIGKILL those alive after ``timeout_s``.

    Returns once all are gone (pid files removed); True when at least one was running.
    """
    pids = {n.node_id: pid for n in nodes if (pid := pid_of(n)) is not None}
    for pid in pids.values():
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(alive(p) for p in pids.values()):
        time.sleep(0.2)
    for pid in pids.values():
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.1)
    for n in nodes:
        n.pid_file.unlink(missing_ok=True)
    return bool(pids)


def pid_of(node: Node) -> int | None:
    """The pid of the node's Kafka process from its pid file, if that process still runs."""
    try:
        pid = int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"kafka.Kafka" not in cmdline.read_bytes():
        return None  # the pid was reused by something else
    if not alive(pid):
        return None
    return pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            os.waitpid(pid, os.WNOHANG)
            return False
    except (OSError, IndexError, ChildProcessError):
        pass
    return True


def answers_metadata(address: str, timeout_s: float = 3.0) -> bool:
    """True when a Kafka broker at ``address`` answers a metadata request."""

    async def probe() -> bool:
        from aiokafka import AIOKafkaClient  # imported lazily: the CLI starts faster
        from aiokafka.errors import KafkaError

        client = AIOKafkaClient(bootstrap_servers=address, request_timeout_ms=int(timeout_s * 1000),
                                connections_max_idle_ms=int(timeout_s * 2000))
        # A refused connection is the expected answer while the broker boots, not an error.
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            await asyncio.wait_for(client.bootstrap(), timeout_s)
            return True
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await client.close()
            quiet.setLevel(level)

    return asyncio.run(probe())
