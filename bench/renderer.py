"""The invoice renderer alone, new against old, in one process: ``python -m bench.renderer``.

Renders the same invoice again and again in this process (one core) with the canvas renderer
(``logiflow.adapters.pdf.ReportlabInvoiceRenderer``) and with the platypus one it replaced
(``bench/renderer_platypus.py``, the baseline). Runs of ``--seconds`` each alternate old, new, old,
new... so drift hits both alike; each figure is the median of ``--repeats`` runs. Rates are given
per wall-clock second and per CPU second of this process (the CPU figure is the steadier one on a
shared machine); the ratio new / old from the same run is what compares them. Also the PDF sizes.

Writes ``bench/results/renderer.json`` and ``bench/results/renderer.txt``. ``--images DIR`` also
writes old and new renderings of a few invoices (plain, no distance, special characters, extreme
lengths) as PDF and as PNG (``pdftoppm -r 60``) to compare by eye; ``--profile`` writes a cProfile
of the new renderer to ``bench/results/renderer.prof``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.procinfo import cpu_busy_pct, cpu_count, cpu_model
from bench.renderer_platypus import PlatypusInvoiceRenderer
from logiflow.adapters.pdf import ReportlabInvoiceRenderer
from logiflow.domain.invoice import Invoice, Party, Rates, price_route
from logiflow.domain.model import Place, RouteCalculated
from logiflow.settings import Settings

RESULTS = Path(__file__).parent / "results"
TARGET_PER_S = 450  # issue 10: the new renderer, one process, the same invoice
IDLE_BUSY_PCT = 15


def bench_invoice(distance_km: float | None = 791.3, **changes: Any) -> Invoice:
    """A typical invoice: a route with a stop, priced with the default tariff and seller."""
    s = Settings.from_env({})
    event = RouteCalculated(
        event_id="rc-bench-000001", truck_id="TR-0042", customer_id="CU-007",
        eta_ms=1_764_014_400_000, timestamp_ms=1_764_000_000_000,
        origin=Place(53.5511, 9.9937, "Hamburg"), destination=Place(48.1351, 11.582, "Munich"),
        stops=(Place(52.3759, 9.732, "Hannover"),), distance_km=distance_km,
    )
    rates = Rates(currency=s.currency, base_fee=s.base_fee, rate_per_km=s.rate_per_km,
                  fuel_surcharge_pct=s.fuel_surcharge_pct, vat_pct=s.vat_pct)
    invoice = price_route(event, rates, Party(s.seller_name, s.seller_address, s.seller_vat_id))
    return dataclasses.replace(invoice, **changes) if changes else invoice


def samples() -> dict[str, Invoice]:
    """Invoices whose old and new pages should look alike (``--images``)."""
    plain = bench_invoice()
    return {
        "plain": plain,
        "no-distance": bench_invoice(distance_km=None),  # billed the base fee, with a note
        "special-characters": bench_invoice(
            truck_id='<a href="x">TR</a> & "q" (p) \\ Zürich 東京 \u03b1 ☃',
            notes=('<font size="40">big</font> & <b>bold</b>',)),
        "extreme": bench_invoice(
            truck_id="T" * 64, seller=Party("S" * 500, "Street 1\n" * 80, "V" * 200),
            bill_to=Party("B" * 500, "Road " * 300),
            route_summary=" to ".join(["Somewhere very far away"] * 200),
            lines=plain.lines * 30, notes=("A long note. " * 100,) * 20),
    }


def timed_run(render: Callable[[Invoice], bytes], invoice: Invoice, seconds: float) -> dict[str, float]:
    """Render ``invoice`` for about ``seconds``: invoices per wall second and per CPU second."""
    render(invoice)  # warm: first-call costs (font metrics, caches) are not throughput
    count, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while (wall := time.perf_counter() - wall0) < seconds:
        for _ in range(10):
            render(invoice)
        count += 10
    cpu = time.process_time() - cpu0
    return {"invoices": count, "perWallS": count / wall, "perCpuS": count / cpu}


def summarize(values: list[float]) -> dict[str, float]:
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values),
            "spread": (max(values) - min(values)) / median if median else 0.0}


def write_images(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    renderers = {"old": PlatypusInvoiceRenderer(), "new": ReportlabInvoiceRenderer()}
    for name, invoice in samples().items():
        for tag, renderer in renderers.items():
            pdf = folder / f"{name}-{tag}.pdf"
            pdf.write_bytes(renderer.render(invoice))
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf),
                            str(pdf.with_suffix(""))], check=True)
            written.append(str(pdf.with_suffix(".png")))
    return written


def run(opts: argparse.Namespace) -> dict[str, Any]:
    invoice = bench_invoice()
    renderers = {"old": PlatypusInvoiceRenderer().render, "new": ReportlabInvoiceRenderer().render}
    busy_before = cpu_busy_pct(2.0)
    if busy_before > IDLE_BUSY_PCT:
        print(f"WARNING: {busy_before:.0f}% of the CPUs are busy; other work skews the rates "
              "(the ratio new / old, taken in the same run, is the figure to compare)", flush=True)
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for i in range(opts.repeats):
        for name, render in renderers.items():
            runs[name].append(timed_run(render, invoice, opts.seconds))
            print(f"run {i + 1}/{opts.repeats} {name}: {runs[name][-1]['perWallS']:,.0f} invoices/s "
                  f"({runs[name][-1]['perCpuS']:,.0f} per CPU second)", flush=True)
    stats = {name: {"perWallS": summarize([r["perWallS"] for r in rs]),
                    "perCpuS": summarize([r["perCpuS"] for r in rs])} for name, rs in runs.items()}
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": cpu_count(), "cpuModel": cpu_model(), "python": platform.python_version(),
                    "cpuBusyPctBefore": busy_before, "cpuBusyPctAfter": cpu_busy_pct(2.0)},
        "params": {"repeats": opts.repeats, "secondsPerRun": opts.seconds, "invoice": invoice.route_event_id,
                   "targetPerS": TARGET_PER_S},
        "old": stats["old"], "new": stats["new"], "runs": runs,
        "ratio": {key: stats["new"][key]["median"] / stats["old"][key]["median"]
                  for key in ("perWallS", "perCpuS")},
        "pdfBytes": {name: {sample: len(render(inv)) for sample, inv in samples().items()}
                     for name, render in renderers.items()},
    }


def render_text(r: dict[str, Any]) -> str:
    def row(label: str, s: dict[str, float]) -> str:
        return (f"  {label:<44}{s['median']:>8,.0f} invoices/s   "
                f"[{s['min']:,.0f} to {s['max']:,.0f}, spread {s['spread']:.0%}]")

    m, new = r["machine"], r["new"]["perWallS"]["median"]
    verdict = "met" if new >= TARGET_PER_S else "MISSED"
    busy = max(m["cpuBusyPctBefore"], m["cpuBusyPctAfter"]) > IDLE_BUSY_PCT
    return "\n".join([
        f"LogiFlow renderer bench {r['date']}: {m['cpus']} x {m['cpuModel']}, Python {m['python']}",
        f"one process, the same invoice, median of {r['params']['repeats']} runs of "
        f"{r['params']['secondsPerRun']:g} s each, old and new interleaved",
        f"CPU busy before / after: {m['cpuBusyPctBefore']:.0f}% / {m['cpuBusyPctAfter']:.0f}%"
        + (" (busy machine: compare the ratios)" if busy else " (idle)"),
        row("old: platypus (bench/renderer_platypus.py)", r["old"]["perWallS"]),
        row("new: canvas (logiflow/adapters/pdf.py)", r["new"]["perWallS"]),
        row("old, per CPU second of the process", r["old"]["perCpuS"]),
        row("new, per CPU second of the process", r["new"]["perCpuS"]),
        f"  new / old: {r['ratio']['perWallS']:.1f}x (wall), {r['ratio']['perCpuS']:.1f}x (CPU)",
        f"  new >= {TARGET_PER_S} invoices/s (wall): {verdict}"
        + (" (on a busy machine: judge by the ratio, or rerun idle)"
           if verdict == "MISSED" and busy else ""),
        "  PDF bytes: " + "; ".join(
            f"{sample} {r['pdfBytes']['old'][sample]:,} -> {r['pdfBytes']['new'][sample]:,}"
            for sample in r["pdfBytes"]["old"]),
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.renderer",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument("--images", type=Path, metavar="DIR",
                        help="also write old and new renderings of sample invoices (PDF + PNG) here")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the new renderer (bench/results/renderer.prof)")
    opts = parser.parse_args(argv)
    if opts.images:
        print("\n".join(write_images(opts.images)))
    results = run(opts)
    text = render_text(results)
    RESULTS.mkdir(exist_ok=True)
    for name, content in (("renderer.json", json.dumps(results, indent=2) + "\n"), ("renderer.txt", text)):
        tmp = RESULTS / f"{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(RESULTS / name)
    if opts.profile:
        import cProfile

        renderer, invoice = ReportlabInvoiceRenderer(), bench_invoice()
        cProfile.runctx("for _ in range(500): renderer.render(invoice)", globals(), locals(),
                        str(RESULTS / "renderer.prof"))
    print("\n" + text + f"written: {RESULTS / 'renderer.json'}, {RESULTS / 'renderer.txt'}")


if __name__ == "__main__":
    main()
