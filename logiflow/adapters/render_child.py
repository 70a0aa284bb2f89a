"""One renderer process: the loop it runs, its Pipe protocol, and the parent's waits on the Pipe.

:class:`~logiflow.adapters.render_pool.RendererPool` starts N of these (never in the worker
process: the PDF library may leak, hang or crash) and decides what to do when one misbehaves.
The protocol on the Pipe:

* child → parent, once: ``("ready", pid)`` when reportlab is imported;
* parent → child: a list of :class:`~logiflow.domain.invoice.Invoice` to render in order (one
  message, so the child renders them back to back instead of sleeping between them while the
  parent's answer crosses the pipe), or ``None``: exit;
* child → parent, per invoice of the list, in order: ``("ok", pdf_bytes)`` or
  ``("error", "ExcClass: message\\ntraceback")``.

Also here: :data:`PROBE_INVOICE`, the invoice a health check renders.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import traceback
from decimal import Decimal
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

from logiflow.adapters.render_faults import FaultFile
from logiflow.domain.invoice import Invoice, InvoiceLine, Party
from logiflow.errors import RenderCrashed

# A child must import reportlab and say "ready" within this long, else it counts as crashed.
START_TIMEOUT_S = 60.0

# A fixed invoice rendered by healthy(): small, valid, and free of any real customer data.
PROBE_INVOICE = Invoice(
    invoice_id="INV-PROBEPROBEPROBEPROBE",
    invoice_number="LF-2000-PROBE",
    issued_ms=946_684_800_000,
    route_event_id="health-probe",
    truck_id="PROBE",
    customer_id=None,
    seller=Party(name="LogiFlow health probe"),
    bill_to=Party(name="Nobody"),
    route_summary="probe",
    eta_ms=946_684_800_000,
    lines=(InvoiceLine("Probe", Decimal(1), "", Decimal("0.00"), Decimal("0.00")),),
    net=Decimal("0.00"),
    vat_pct=Decimal(0),
    vat=Decimal("0.00"),
    gross=Decimal("0.00"),
    currency="EUR",
)


# --- the child's side ----------------------------------------------------------------------------

def child_main(conn: Connection, faults: FaultFile | None) -> None:
    """Body of a renderer process. Module level, so spawn/forkserver can import it by name.

    ``faults`` is the test seam (:mod:`logiflow.adapters.render_faults`); None in production.
    """
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from logiflow.adapters.pdf import ReportlabInvoiceRenderer

    renderer = ReportlabInvoiceRenderer()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            invoices = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if invoices is None:
            return  # retired or stopped: exit cleanly
        for invoice in invoices:
            try:
                if faults is not None:
                    faults.apply(invoice.truck_id)
                reply: tuple[str, Any] = ("ok", renderer.render(invoice))
            except Exception as exc:  # noqa: BLE001 - every renderer failure goes back as text
                reply = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            try:
                conn.send(reply)
            except (BrokenPipeError, OSError):
                return


# --- the parent's side ---------------------------------------------------------------------------

def context() -> BaseContext:
    """``forkserver`` where available, else ``spawn``: the worker, which has threads, never forks."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


async def wait_ready(conn: Connection, pid: int | None) -> None:
    """Wait for a new child's ``("ready", pid)``. RenderCrashed if it says something else or is
    too slow; EOFError/OSError if it died."""
    if not await readable(conn, START_TIMEOUT_S):
        raise RenderCrashed(f"renderer process {pid} did not start within {START_TIMEOUT_S:g} s")
    hello = conn.recv()
    if not (isinstance(hello, tuple) and hello[:1] == ("ready",)):
        raise RenderCrashed(f"renderer process {pid} sent {hello!r:.80} at start")


async def readable(conn: Connection, timeout: float) -> bool:
    """Wait, without blocking the loop, until ``conn`` has data or EOF; False on timeout.

    Once the pipe is readable, ``recv`` at most waits for the rest of a message the child is
    writing at that moment, never for a render.
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(ready, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
