"""What the results record about the machine and processes (Linux /proc)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def vm_hwm_kb(pid: int | str) -> int | None:
    """Peak resident set size (VmHWM) of a live process, in kB; None if unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def cpu_s(pid: int | str = "self") -> float | None:
    """CPU seconds (user + system, every thread) a live process has used so far; None if unreadable.

    On a machine shared with other work, wall-clock rates swing with the load; CPU per event
    is steadier, so the bench records it beside every rate.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_count() -> int:
    """CPUs this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0))


def cpu_busy_pct(seconds: float = 1.0) -> float:
    """Share of all CPUs busy (not idle or iowait) over ``seconds``: is anything else running?"""
    import time

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0))
