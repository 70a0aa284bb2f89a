"""The campaign's ``logiflow worker`` processes: one consumer group, faults on each member.

Every member shares the first one's settings (app id = consumer group, topics, invoice folder:
the store is shared, as a network volume would be) and has its own web port and its own data
folder (its RocksDB tables). Members are started with :class:`tests.support.harness.Worker`; its log
keeps growing across restarts. Calls block; the campaign runs them in a thread.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.harness import Worker, free_port

START_TIMEOUT_S = 240.0   # a worker start on a loaded 2-core machine, table recovery included
STOP_TIMEOUT_S = 60.0
ORPHAN_WAIT_S = 10.0      # after kill -9, the renderer processes have this long to notice


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of ``pid``, or None when it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else (int(fields[1]), fields[19])


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` (pid -> start time, which tells a reused pid apart)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            children.setdefault(st[0], []).append(int(entry))
            started[int(entry)] = st[1]
    out: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out[p] = started[p]
        todo += children.get(p, [])
    return out


def still_running(procs: dict[int, str]) -> dict[int, str]:
    return {p: s for p, s in procs.items() if (st := _stat(p)) is not None and st[1] == s}


@dataclass
class Member:
    name: str
    worker: Worker
    wanted: bool = False           # should be running: the supervisor restarts it otherwise
    failed_starts: list[str] = field(default_factory=list)
    unexpected_exits: list[dict[str, object]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return Path(self.worker.env["LOGIFLOW_DATA_DIR"])

    @property
    def running(self) -> bool:
        return self.worker.proc is not None and self.worker.proc.poll() is None


class Fleet:
    def __init__(self, root: Path, first_env: dict[str, str], logs: Path) -> None:
        self.root, self.first_env, self.logs = root, first_env, logs
        self.members: dict[str, Member] = {}
        self.orphans: dict[int, str] = {}  # processes that outlived a kill -9 of their worker

    def member(self, name: str) -> Member:
        if name not in self.members:
            env = dict(self.first_env)
            env["LOGIFLOW_DATA_DIR"] = str(self.root / f"data-{name}")
            if self.members:  # the first keeps the port isolated_env chose
                env["LOGIFLOW_WEB_PORT"] = str(free_port())
            self.members[name] = Member(name, Worker(env, self.logs / f"worker-{name}.log"))
        return self.members[name]

    def live(self) -> list[str]:
        return [n for n, m in self.members.items() if m.wanted]

    def start(self, name: str, attempts: int = 5) -> float:
        """Start ``name`` and wait for Ready (retried: a start may fail while a broker is down).

        Returns the wall-clock time (ms) it was Ready.
        """
        m = self.member(name)
        m.wanted = True
        for attempt in range(1, attempts + 1):
            try:
                m.worker.start(timeout=START_TIMEOUT_S)
                return time.time() * 1000
            except AssertionError as exc:  # exited or not ready in time
                m.failed_starts.append(f"{time.strftime('%H:%M:%S')} attempt {attempt}: "
                                       f"{str(exc).splitlines()[0]}")
                m.worker.kill()
                time.sleep(min(10.0, 2.0 * attempt))
        raise RuntimeError(f"worker {name} did not start in {attempts} attempts; "
                           f"see {m.worker.log_path}")

    def kill(self, name: str) -> None:
        """kill -9 of the worker process (only it, as the OOM killer would)."""
        m = self.member(name)
        m.wanted = False
        below = descendants(m.worker.proc.pid) if m.running and m.worker.proc else {}
        m.worker.kill()
        deadline = time.monotonic() + ORPHAN_WAIT_S
        while (left := still_running(below)) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.orphans.update(left)

    def stop(self, name: str) -> int | None:
        """Graceful stop (SIGTERM); the exit code (None: it was not running)."""
        m = self.member(name)
        m.wanted = False
        return m.worker.stop(timeout=STOP_TIMEOUT_S)

    def wipe_state(self, name: str) -> None:
        """Delete the member's local state (RocksDB): it must rebuild it from the changelogs."""
        shutil.rmtree(self.member(name).data_dir, ignore_errors=True)

    def check(self) -> list[str]:
        """Members that should run but exited on their own (noted; the caller restarts them)."""
        gone = []
        for m in self.members.values():
            if m.wanted and m.worker.proc is not None and m.worker.proc.poll() is not None:
                m.unexpected_exits.append({"atMs": time.time() * 1000,
                                           "code": m.worker.proc.returncode})
                m.wanted = False
                gone.append(m.name)
        return gone

    def stop_all(self) -> dict[str, int | None]:
        return {n: self.stop(n) for n, m in self.members.items() if m.running}

    def kill_all(self) -> None:
        """At the end (or on an error): every member still running, and what outlived a kill."""
        for name, m in self.members.items():
            m.wanted = False
            if m.running:
                self.kill(name)
        for pid in still_running(self.orphans):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
