"""Fault plans and the seeded schedule they expand to. Pure: no I/O, no clock.

A plan names how many faults of each kind to inject and the traffic to inject them into; a seed
turns it into a schedule: the order of the faults, their targets (which worker, which broker
node) and their timings (gap after the previous fault recovered, downtime before a restart,
burst of requests and lead time just before the fault). The same plan and seed always give the
same schedule (:func:`schedule`), so a campaign is replayable: the faults, targets and timings
repeat exactly; what the system does in between is what is measured.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

# What each kind does (the campaign performs them: bench/faults/campaign.py).
KINDS: dict[str, str] = {
    "worker-kill": "kill -9 of a worker, restarted after the downtime",
    "worker-stop": "graceful stop (SIGTERM) of a worker, restarted after the downtime",
    "worker-join": "a second worker joins the consumer group (rebalance)",
    "worker-leave": "a worker leaves the group for good, gracefully (rebalance)",
    "state-loss": "kill -9 of a worker, its local state (RocksDB) deleted, restarted",
    "broker-restart": "every broker node stopped cleanly, then started again (a full outage)",
    "broker-kill": "kill -9 of one broker node, started again after the downtime",
}
MAX_WORKERS = 2


@dataclass(frozen=True)
class Plan:
    """What a campaign injects, and into what traffic."""

    name: str
    faults: dict[str, int]
    brokers: int = 1
    rate: float = 100.0           # route requests per second, steady, for the whole campaign
    trucks: int = 50
    prefill: int = 1000           # requests produced before the first worker starts: a backlog
    gap_s: tuple[float, float] = (8.0, 20.0)       # after the previous fault recovered
    downtime_s: tuple[float, float] = (0.5, 3.0)   # fault -> restart (kill, stop, state loss, broker)
    burst: tuple[int, int] = (200, 600)             # requests sent at once just before each fault
    lead_ms: tuple[int, int] = (0, 400)             # burst -> fault: hits routing mid-batch
    min_backlog: int = 100        # unprocessed requests + routes at the moment of each fault
    poison_every: int = 250       # every n-th request names an unknown place (DLQ path); 0: none
    partitions: int = 4
    recovery_timeout_s: float = 180.0
    drain_timeout_s: float = 900.0
    description: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
        if any(n < 0 for n in self.faults.values()):
            raise ValueError("fault counts cannot be negative")
        if self.faults.get("worker-leave", 0) > self.faults.get("worker-join", 0):
            raise ValueError("each worker-leave needs a worker-join before it (one worker must stay)")
        if self.brokers not in (1, 3):
            raise ValueError(f"brokers must be 1 or 3, not {self.brokers}")
        if self.rate <= 0 or self.trucks < 1 or self.partitions < 1:
            raise ValueError("rate, trucks and partitions must be positive")

    @property
    def fault_count(self) -> int:
        return sum(self.faults.values())

    def with_faults(self, spec: str) -> Plan:
        """This plan with the faults of ``spec`` (``kind:count,kind:count``), the rest unchanged."""
        return replace(self, name=f"{self.name}+custom", faults=parse_faults(spec))


def parse_faults(spec: str) -> dict[str, int]:
    """``"worker-kill:3,state-loss:1"`` -> ``{"worker-kill": 3, "state-loss": 1}``."""
    faults: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, count = part.partition(":")
        try:
            faults[kind.strip()] = faults.get(kind.strip(), 0) + (int(count) if count else 1)
        except ValueError:
            raise ValueError(f"{part!r}: expected kind:count") from None
    return faults


PLANS: dict[str, Plan] = {plan.name: plan for plan in (
    Plan("default", brokers=3, description="the acceptance plan: 3-node cluster, every kind of fault",
         faults={"worker-kill": 10, "worker-stop": 1, "worker-join": 1, "worker-leave": 1,
                 "state-loss": 1, "broker-restart": 1, "broker-kill": 1}),
    Plan("single", brokers=1, description="every fault on one broker (broker-kill: kill -9 of it)",
         faults={"worker-kill": 10, "worker-stop": 1, "worker-join": 1, "worker-leave": 1,
                 "state-loss": 1, "broker-restart": 1, "broker-kill": 1}),
    # 24 trucks: their keys reach all 4 partitions (12 would leave partition 0 without traffic).
    Plan("small", brokers=1, rate=5.0, trucks=24, prefill=100, gap_s=(2.0, 5.0),
         downtime_s=(0.2, 1.5), burst=(40, 100), min_backlog=20, poison_every=50,
         recovery_timeout_s=120.0, drain_timeout_s=180.0,
         description="one fault of each kind but the broker kill, a few hundred requests: "
                     "the bounded version `make test` runs",
         faults={"worker-kill": 1, "worker-stop": 1, "worker-join": 1, "worker-leave": 1,
                 "state-loss": 1, "broker-restart": 1}),
)}


@dataclass(frozen=True)
class Step:
    """One fault of the schedule."""

    index: int                 # 1-based
    kind: str
    gap_s: float               # wait after the previous fault recovered (or after start)
    worker: str | None = None  # the worker it hits (worker-*, state-loss)
    node: int | None = None    # the broker node it hits (broker-kill)
    downtime_s: float = 0.0    # before the restart
    burst: int = 0             # requests sent at once just before the fault
    lead_ms: int = 0           # burst -> fault

    def describe(self) -> str:
        target = self.worker or (f"node {self.node}" if self.node else "all brokers"
                                 if self.kind.startswith("broker") else "")
        down = f", down {self.downtime_s:.1f} s" if self.downtime_s else ""
        return (f"#{self.index:02d} after {self.gap_s:4.1f} s: {self.kind:14} {target:11}"
                f" (burst {self.burst}, lead {self.lead_ms} ms{down})")


@dataclass
class _Fleet:
    """The workers alive at each point of the schedule (names w1, w2, ...)."""

    live: list[str] = field(default_factory=lambda: ["w1"])
    next_id: int = 2

    def applicable(self, kind: str) -> bool:
        if kind == "worker-join":
            return len(self.live) < MAX_WORKERS
        if kind == "worker-leave":
            return len(self.live) > 1
        return True


def schedule(plan: Plan, seed: int) -> list[Step]:
    """The plan's faults in a seeded order with seeded targets and timings.

    The kinds are drawn one at a time, weighted by how many of each remain, among those that
    apply (a join needs room for another worker, a leave needs two workers).
    """
    rng = random.Random(seed)
    remaining = {k: n for k, n in sorted(plan.faults.items()) if n}
    fleet = _Fleet()
    steps: list[Step] = []
    while remaining:
        kinds = [k for k in remaining if fleet.applicable(k)]
        kind = rng.choices(kinds, weights=[remaining[k] for k in kinds])[0]
        remaining[kind] -= 1
        if not remaining[kind]:
            del remaining[kind]
        worker: str | None = None
        node: int | None = None
        if kind == "worker-join":
            worker = f"w{fleet.next_id}"
            fleet.next_id += 1
            fleet.live.append(worker)
        elif kind in ("worker-kill", "worker-stop", "state-loss", "worker-leave"):
            worker = rng.choice(fleet.live)
            if kind == "worker-leave":
                fleet.live.remove(worker)
        elif kind == "broker-kill":
            node = rng.randint(1, plan.brokers)
        restarts = kind not in ("worker-join", "worker-leave")
        steps.append(Step(
            index=len(steps) + 1, kind=kind, gap_s=round(rng.uniform(*plan.gap_s), 1),
            worker=worker, node=node,
            downtime_s=round(rng.uniform(*plan.downtime_s), 1) if restarts else 0.0,
            burst=rng.randint(*plan.burst), lead_ms=rng.randint(*plan.lead_ms)))
    return steps


def render_schedule(plan: Plan, seed: int, steps: list[Step]) -> list[str]:
    counts = ", ".join(f"{k} {n}" for k, n in plan.faults.items() if n)
    return [f"fault campaign: plan {plan.name!r}, seed {seed} "
            f"(replay: make faults SEED={seed} PLAN={plan.name})",
            f"  {plan.brokers} broker(s), {plan.partitions} partitions, {plan.rate:g} requests/s for "
            f"{plan.trucks} trucks, {plan.prefill} pre-filled, 1 in {plan.poison_every or '-'} poison; "
            f"faults: {counts}",
            *(f"  {s.describe()}" for s in steps)]
