"""``python -m bench.faults [--seed N] [--plan NAME] [--faults kind:n,...]`` (``make faults``).

Prints the seed and the schedule first, progress as the faults happen, and the figures last;
writes them to ``bench/results/faults-<seed>.json``. Same seed and plan, same schedule.
Worker logs stay in ``artifacts/faults-<seed>/``; the scratch folder (tables, PDFs) and the
run's topics are removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.faults.plan import KINDS, PLANS, Plan, render_schedule, schedule

REPO = Path(__file__).resolve().parents[2]


def run_campaign(plan: Plan, seed: int, logs: Path, root: Path | None = None, keep: bool = False,
                 say: Any = print) -> dict[str, Any]:
    """Run one campaign end to end (brokers up, faults, drain, accounting); return the results."""
    from bench.faults.brokers import Brokers
    from bench.faults.campaign import Campaign
    from bench.faults.report import verdict
    from bench.procinfo import cpu_busy_pct
    from bench.run import PASS_THROUGH, bench_broker

    # aiokafka warns about every refused connection while a broker is down: expected here.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    steps = schedule(plan, seed)
    for line in render_schedule(plan, seed, steps):
        say(line)
    if not bench_broker()[1]:
        raise SystemExit("the campaign restarts and kills its brokers: it runs on the local broker "
                         "(LOGIFLOW_KAFKA_PORT), but LOGIFLOW_BROKER names another one")
    brokers = Brokers(plan.brokers, os.environ)
    busy = cpu_busy_pct(1.0)
    say(brokers.ensure_up())
    scratch = root or Path(tempfile.mkdtemp(prefix="logiflow-faults-"))
    logs.mkdir(parents=True, exist_ok=True)
    overrides = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ and k != "LOGIFLOW_PARTITIONS"}
    campaign = Campaign(plan, seed, steps, brokers, scratch, logs, overrides, say)
    began = time.monotonic()
    try:
        results = asyncio.run(campaign.run())
    finally:
        if not keep:
            asyncio.run(delete_topics(brokers.bootstrap, [campaign.settings.topic_prefix,
                                                           campaign.app_id + "-"]))
            if root is None:
                shutil.rmtree(scratch, ignore_errors=True)
        brokers.stop()
    results.update(date=datetime.now(UTC).isoformat(timespec="seconds"),
                   wallSeconds=round(time.monotonic() - began, 1), cpuBusyBeforePct=busy,
                   schedule=[s.describe() for s in steps], logs=str(logs),
                   command=" ".join(["python -m bench.faults", *sys.argv[1:]]))
    results["verdict"] = verdict(results)
    return results


async def delete_topics(bootstrap: str, prefixes: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(tuple(prefixes))]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--plan", default="default", choices=sorted(PLANS),
                        help="; ".join(f"{p.name}: {p.description}" for p in PLANS.values()))
    parser.add_argument("--faults", default="", metavar="KIND:N,...",
                        help="replace the plan's faults; kinds: " + ", ".join(KINDS))
    parser.add_argument("--rate", type=float, help="requests/s (default: the plan's)")
    parser.add_argument("--trucks", type=int, help="trucks (default: the plan's)")
    parser.add_argument("--prefill", type=int, help="requests before the first worker starts")
    parser.add_argument("--keep", action="store_true",
                        help="keep the topics and the scratch folder (tables, PDFs) for inspection")
    opts = parser.parse_args(argv)
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 10**6)
    plan = PLANS[opts.plan]
    if opts.faults:
        plan = plan.with_faults(opts.faults)
    changes = {k: getattr(opts, k) for k in ("rate", "trucks", "prefill") if getattr(opts, k) is not None}
    if changes:
        plan = replace(plan, **changes)

    from bench.faults.report import render, write

    print(f"seed {seed}", flush=True)
    results = run_campaign(plan, seed, REPO / "artifacts" / f"faults-{seed}", keep=opts.keep,
                           say=lambda line: print(line, flush=True))
    path = write(results)
    print(render(results) + f"written: {path}; worker logs: {results['logs']}", flush=True)


if __name__ == "__main__":  # the renderer's fork server re-imports __main__: keep it inert
    main()
