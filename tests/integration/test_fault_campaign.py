"""Issue 8, the bounded fault campaign: a few faults while a backlog exists, then the accounting.

The ``small`` plan of :mod:`bench.faults` (``make faults PLAN=small SEED=1`` replays exactly this
schedule and prints the same figures): real workers in one consumer group on the suite's broker,
a plain aiokafka producer, one kill -9, one graceful stop, a worker joining and leaving, one
lost local state and one broker restart. Recovery times are printed, never asserted (bench/).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.faults.__main__ import run_campaign
from bench.faults.plan import PLANS
from bench.faults.report import MUST_BE_ZERO, render
from tests.support.harness import BROKER

# Part of `make test` (and of `make faults-test`, which runs the `faults` tests alone). It found
# 6 lost invoices of 1,207 on 2026-12-01 (committed, never invoiced): Faust dropped events when a
# table recovery resumed the flow twice, then committed past them; fixed in faust_compat.
pytestmark = [pytest.mark.integration, pytest.mark.faults]
SEED = 1


@pytest.mark.timeout(900)  # a loaded 2-core machine; the plan aims at under 5 minutes
def test_a_bounded_fault_campaign_loses_nothing_bills_nothing_twice_and_keeps_the_tables_true(
        kafka: str, artifacts: Path, tmp_path: Path) -> None:
    from bench.faults.brokers import Brokers

    if Brokers(1, os.environ).bootstrap != BROKER:
        pytest.skip(f"the campaign restarts the broker; the suite's broker {BROKER} is not the "
                    "local one LOGIFLOW_KAFKA_PORT names")
    results = run_campaign(PLANS["small"], SEED, logs=artifacts, root=tmp_path)
    report = render(results)
    (artifacts / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(report)

    f = results["figures"]
    assert f["requestsSent"] >= 300, report  # the plan really ran
    assert len(results["faults"]) == PLANS["small"].fault_count, report
    checks = {**{f"{k} == 0": f[k] == 0 for k in MUST_BE_ZERO},
              "poison dead-lettered": f["poisonNotDeadLettered"] == 0,
              "truck tables equal to the topics": f["tablesEqual"],
              "drained": results["drain"]["drained"]}
    failed = [name for name, ok in checks.items() if not ok]
    assert not failed, f"failed: {', '.join(failed)}\n{report}"
