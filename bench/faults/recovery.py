"""Recovery times, from the monitor's notes. Pure.

For a fault at ``fault_ms`` whose action completed at ``done_ms`` (the killed process gone, the
stopped one exited, the broker down), the recovery of an output on a partition is the time from
``fault_ms`` to the moment the monitor first saw a record on that partition that a worker
produced after ``done_ms`` (its CreateTime; workers and the campaign share the machine's clock).
A fault's recovery is the slowest partition's, over the partitions that receive traffic: the
partitions the fault did not stop recover at once, so the figure is that of the affected ones.

The stall is the longest silence on any partition between the last record before the fault and
the end of the fault's window (the next fault, or the end of the traffic): a rebalance that
pauses every partition for a while shows there even when no process died (a worker joining).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bench.faults.traffic import Seen


@dataclass(frozen=True)
class Window:
    fault_ms: float
    done_ms: float
    end_ms: float
    back_ms: float | None = None  # the worker / broker restarted (ready again), if it was


def index(seen: Iterable[Seen]) -> dict[tuple[str, int], list[Seen]]:
    """The notes per (output, partition), in the order the monitor saw them."""
    out: dict[tuple[str, int], list[Seen]] = defaultdict(list)
    for s in seen:
        out[(s.kind, s.partition)].append(s)
    return out


def recovery_s(notes: dict[tuple[str, int], list[Seen]], kind: str, partitions: Iterable[int],
               w: Window) -> float | None:
    """Fault -> first record produced after ``done_ms``, slowest partition; None: never."""
    each = by_partition_s(notes, kind, partitions, w)
    return None if None in each.values() else max(each.values(), default=0.0)


def by_partition_s(notes: dict[tuple[str, int], list[Seen]], kind: str, partitions: Iterable[int],
                   w: Window) -> dict[int, float | None]:
    """Fault -> first record produced after ``done_ms``, per partition (None: never)."""
    out: dict[int, float | None] = {}
    for p in partitions:
        first = next((s.seen_ms for s in notes.get((kind, p), []) if s.create_ms > w.done_ms), None)
        out[p] = None if first is None else round(max(0.0, first - w.fault_ms) / 1000, 2)
    return out


def stall_s(notes: dict[tuple[str, int], list[Seen]], kind: str, partitions: Iterable[int],
            w: Window) -> float | None:
    """Longest silence on any partition from the last record before the fault to ``end_ms``."""
    worst: float | None = None
    for p in partitions:
        times = [s.seen_ms for s in notes.get((kind, p), [])]
        before = [t for t in times if t <= w.fault_ms]
        inside = [t for t in times if w.fault_ms < t <= w.end_ms]
        marks = ([before[-1]] if before else [w.fault_ms]) + inside
        gaps = [b - a for a, b in itertools.pairwise(marks)]
        gaps.append(w.end_ms - marks[-1])  # silent up to the end of the window
        worst = max(worst or 0.0, max(gaps) / 1000)
    return None if worst is None else round(worst, 2)
