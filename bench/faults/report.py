"""The campaign's figures as text (printed last) and as a results file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
RECOVERY_TARGET_S = 10.0
# The figures that must be zero (and the table check that must hold) for a clean campaign.
MUST_BE_ZERO = ("lostRoutes", "lostInvoices", "duplicateInvoiceGenerated", "duplicatePdfs",
                "strayFiles")


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _where(at: dict[Any, dict[str, int]], source: str) -> str:
    if not at:
        return ""
    parts = [f"[{p}] {o['count']} in {o['first']}-{o['last']}" for p, o in at.items()]
    return f"   ({source} partition[offsets]: {', '.join(parts)})"


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    """What the acceptance asks of a campaign, checked on its figures."""
    f = results["figures"]
    restarts = [r for r in results["faults"] if r["kind"] != "worker-join"]
    slow = [r["index"] for r in restarts
            if max((r["recoveryRoutingS"] if r["recoveryRoutingS"] is not None else float("inf")),
                   (r["recoveryInvoicingS"] if r["recoveryInvoicingS"] is not None else float("inf")))
            > RECOVERY_TARGET_S]
    zero = {k: f[k] == 0 for k in MUST_BE_ZERO}
    return {"zeroFigures": zero, "tablesEqual": f["tablesEqual"], "drained": results["drain"]["drained"],
            "slowRecoveries": slow,
            "clean": all(zero.values()) and f["tablesEqual"] and results["drain"]["drained"]}


def render(results: dict[str, Any]) -> str:
    f, t, v = results["figures"], results["figures"]["tables"], results["verdict"]
    lines = [
        "",
        f"fault campaign, seed {results['seed']}, plan {results['plan']['name']!r}: "
        f"{len(results['faults'])} faults over {results['trafficSeconds']:.0f} s of traffic on "
        f"{results['plan']['brokers']} broker(s) ({results['broker']}); "
        f"CPU busy before: {results.get('cpuBusyBeforePct', 0):.0f}% (shared machine: times are indicative)",
    ]
    for name, w in results["workers"].items():
        extra = []
        if w["unexpectedExits"]:
            extra.append(f"{len(w['unexpectedExits'])} unexpected exit(s)")
        if w["failedStarts"]:
            extra.append(f"{len(w['failedStarts'])} failed start(s)")
        problems = {k: n for k, n in results["workerLogs"][name].items()
                    if n and k != "dead-lettering"}
        if problems:
            extra.append("log: " + ", ".join(f"{k} x{n}" for k, n in problems.items()))
        lines.append(f"  worker {name}: {w['starts']} start(s)" + (f"; {'; '.join(extra)}" if extra else ""))
    if results["orphanProcesses"]:
        lines.append(f"  processes that outlived a kill -9 of their worker: {results['orphanProcesses']}")
    if not results["drain"]["drained"]:
        d = results["drain"]
        lines.append(f"  NOT DRAINED: lag {d['lagLeft']} after {d['seconds']:.0f} s")
    lines += [
        "",
        f"requests sent                 {f['requestsSent']:>8}   (+ {f['poisonSent']} poison; "
        f"{f['inputDuplicates']} duplicated by the producer)",
        f"lost routes                   {f['lostRoutes']:>8}{_where(f['lostAt']['routes'], 'requests')}",
        f"lost invoices                 {f['lostInvoices']:>8}{_where(f['lostAt']['invoices'], 'routes')}",
        f"duplicate RouteCalculated     {f['duplicateRouteCalculated']:>8}   "
        f"(requests with several event ids: {f['requestsWithSeveralEventIds']})",
        f"duplicate InvoiceGenerated    {f['duplicateInvoiceGenerated']:>8}   (per invoice id; "
        f"requests billed twice: {f['doubleBilledRequests']})",
        f"PDFs vs distinct invoice ids  {f['pdfs']:>8} / {f['distinctInvoiceIds']}   (duplicate PDFs "
        f"{f['duplicatePdfs']}, PDF without event {f['pdfsWithoutInvoiceEvent']}, "
        f"event without PDF {f['invoicesWithoutPdf']})",
        f"stray files                   {f['strayFiles']:>8}",
        f"DLQ entries                   {f['dlqEntries']:>8}   (valid requests {f['dlqValidRequests']}, "
        f"route events {f['dlqRouteEvents']}, duplicates {f['dlqDuplicates']}, poison not "
        f"dead-lettered {f['poisonNotDeadLettered']})",
        f"truck tables vs topics        {'equal' if f['tablesEqual'] else 'DIFFER':>8}   ({t['trucks']} "
        f"trucks, {t['mismatches']} mismatches; routes {t['routesInTables']}, invoices "
        f"{t['invoicesInTables']}, invoices-issued {t['issuedKeys']} keys: {t['issuedMissing']} missing, "
        f"{t['issuedExtra']} extra)",
        "",
        "recovery after each fault (fault -> first event processed again, slowest affected partition;"
        " stall = longest silence)",
        "   #  kind            target     backlog   ready   routing  invoicing   stall r/i",
    ]
    for r in results["faults"]:
        target = r.get("worker") or (f"node {r['node']}" if r.get("node") else "brokers")
        ready = "" if r["restartReadyS"] is None else f"{r['restartReadyS']:.1f} s"
        lines.append(
            f"  {r['index']:2d}  {r['kind']:14}  {target:8} {r['backlogRequests'] + r['backlogRoutes']:8}"
            f"  {ready:>7}  {_s(r['recoveryRoutingS']):>8}  {_s(r['recoveryInvoicingS']):>9}"
            f"   {_s(r['stallRoutingS'])} / {_s(r['stallInvoicingS'])}"
            + (f"   {'; '.join(r['notes'])}" if r["notes"] else ""))
    slow = v["slowRecoveries"]
    failed = [f"{k} {f[k]}" for k, ok in v["zeroFigures"].items() if not ok]
    failed += [] if v["tablesEqual"] else ["tables differ"]
    failed += [] if v["drained"] else ["not drained"]
    lines += [
        "",
        "verdict: " + ("CLEAN (lost 0, duplicate invoices 0, duplicate PDFs 0, stray files 0, tables "
                       "equal, drained)" if v["clean"] else "NOT CLEAN: " + ", ".join(failed)),
        f"recovery <= {RECOVERY_TARGET_S:.0f} s after every fault: "
        + ("met" if not slow else f"MISSED at fault(s) {', '.join(map(str, slow))}"),
    ]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], folder: Path = RESULTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"faults-{results['seed']}.json"
    tmp = folder / f"{path.name}.tmp"
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
