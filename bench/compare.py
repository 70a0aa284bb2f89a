"""Routing contestants side by side: ratios to the raw loop and to Quix, and their settings.

Pure: takes the runs (as :mod:`bench.run` collects them) and returns plain values or text, for
a full run's results and for ``--only`` runs alike (a ratio is None when its reference did not
run).
"""

from __future__ import annotations

import statistics
from importlib.metadata import PackageNotFoundError, version
from typing import Any

Runs = dict[str, list[dict[str, Any]]]
BASELINES = {"Raw": "routing.raw", "Quix": "routing.quix"}


def routing_comparison(runs: Runs) -> dict[str, dict[str, float | None]]:
    """Median events/s (Ready → last output, and steady) of each routing contestant, with ratios."""
    med: dict[str, dict[str, float | None]] = {}
    for name, rs in runs.items():
        if name.startswith("routing.") and rs:
            med[name] = {key: (statistics.median(r[key] for r in rs) if key in rs[0] else None)
                         for key in ("eventsPerS", "steadyEventsPerS", "cpuUsPerEvent")}
    out: dict[str, dict[str, float | None]] = {}
    for name, figures in med.items():
        row = dict(figures)
        for label, ref in BASELINES.items():
            for key, prefix in (("eventsPerS", "vs"), ("steadyEventsPerS", "steadyVs")):
                mine, theirs = figures[key], med.get(ref, {}).get(key)
                row[prefix + label] = mine / theirs if mine and theirs else None
            # CPU efficiency: events per CPU second, as a ratio (the reference's µs / mine).
            mine, theirs = figures["cpuUsPerEvent"], med.get(ref, {}).get("cpuUsPerEvent")
            row["cpuVs" + label] = theirs / mine if mine and theirs else None
        out[name.split(".", 1)[1]] = row
    return out


def _pkg(name: str) -> str:
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return name


def contestant_settings(runs: Runs, linger_ms: float, commit_s: float,
                        routing_batch: int) -> dict[str, dict[str, str]]:
    """What each routing contestant that ran is configured with, as the bench runs it.

    Equal everywhere: acks=all, the same producer linger and commit interval, murmur2 key
    partitioning (the Java default, so every contestant's truck lands on the same partition),
    no compression, no idempotence, one fresh consumer group from the earliest offset.
    """
    clients = {name.split(".", 1)[1]: rs[0]["client"] for name, rs in runs.items()
               if rs and "client" in rs[0]}
    linger = f"{linger_ms:g} ms"
    every = f"every {commit_s:g} s"
    aiokafka = _pkg("aiokafka")
    faust = f"{_pkg('faust-streaming')} on {aiokafka}"
    raw = {"client": aiokafka, "linger": f"{linger} (aiokafka default 0)",
           "commit": f"{every}, after all outputs are acked",
           "state": "dict", "batching": "getmany (all fetched); producer batches 16 KiB"}
    worker = {"client": faust, "linger": f"{linger} (Faust's default 0, LOGIFLOW_PRODUCER_LINGER_MS's 0)",
              "commit": f"{every} or 10,000 records (Faust defaults), acked records only",
              "state": f"RocksDB table + changelog, writes held and folded per truck, flushed at "
                       f"{routing_batch} requests or LOGIFLOW_ROUTING_BATCH_WAIT_S",
              "batching": "takes of ≤ 20 ms, each request sent at once; producer batches 16 KiB"}
    table = {
        "raw": raw,
        "rawWithChangelog": {**raw, "state": "dict + a changelog produce per event"},
        "faustInvoicingPaused": worker,
        "faustInvoicingLive": worker,
        "faustFloor": {**worker, "linger": "n/a (produces nothing)", "state": "none",
                       "batching": "events one by one, no work"},
        "confluent": {"client": clients.get("confluent", "confluent-kafka (peers venv)"),
                      "linger": f"{linger} (librdkafka default 5)",
                      "commit": f"{every}, after producer.flush()",
                      "state": "dict",
                      "batching": "consume(500); producer batches ≤ 1 MB / 10,000 (librdkafka); "
                                  "delivery reports for failures only"},
        "quix": {"client": clients.get("quix", "quixstreams (peers venv)"),
                 "linger": f"{linger} (Quix sets none: librdkafka default 5)",
                 "commit": f"{every} (Quix default 5 s), checkpoint: producer flushed, state, "
                           "offsets",
                 "state": "RocksDB store + changelog topic, one write per key per checkpoint",
                 "batching": "poll() one record at a time; producer as librdkafka"},
    }
    return {name: row for name, row in table.items() if f"routing.{name}" in runs}


def render(comparison: dict[str, dict[str, float | None]],
           settings: dict[str, dict[str, str]], labels: dict[str, str]) -> list[str]:
    """The comparison and settings tables, as text lines."""
    def pct(x: float | None) -> str:
        return f"{x:6.0%}" if x is not None else "     -"

    def num(x: float | None) -> str:
        return f"{x:9,.0f}" if x is not None else "        -"

    lines = ["Routing contestants vs the raw loop and vs Quix (medians; Ready → last output, "
             "then steady: first → last output)",
             f"  {'':46} {'events/s':>9} {'/raw':>6} {'/Quix':>6}   {'steady':>9} {'/raw':>6} "
             f"{'/Quix':>6}   {'CPU µs/ev':>9} {'/raw':>6} {'/Quix':>6}"]
    for name, c in comparison.items():
        lines.append(f"  {labels.get('routing.' + name, name):46} {num(c['eventsPerS'])} "
                     f"{pct(c['vsRaw'])} {pct(c['vsQuix'])}   {num(c['steadyEventsPerS'])} "
                     f"{pct(c['steadyVsRaw'])} {pct(c['steadyVsQuix'])}   "
                     f"{num(c['cpuUsPerEvent'])} {pct(c['cpuVsRaw'])} {pct(c['cpuVsQuix'])}")
    lines += ["  (CPU: the contestant's process, every thread, from Ready to the end, per event; "
              "/raw and /Quix as events per CPU second)",
              "", "Settings per contestant (equal for all: acks=all, murmur2 partitioning, "
              "no compression or idempotence, fresh group from the earliest offset)"]
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for name, row in settings.items():  # contestants configured alike share one entry
        groups.setdefault(tuple(row.items()), []).append(name)
    for items, names in groups.items():
        row = dict(items)
        lines.append(f"  {', '.join(names)}: {row['client']}")
        lines += [f"      {key:9} {row[key]}" for key in ("linger", "commit", "state", "batching")]
    return lines
