"""PDF rendering off the event loop: a pool of renderer processes behind an async API.

The invoice agent runs in a Faust worker's event loop and calls ``await pool.render(invoice)``.
The PDF library may leak, hang or crash, so it never runs in the worker process:

* Each of the N children (multiprocessing ``forkserver`` where available, else ``spawn``; the
  Faust process, which has threads, is never forked) runs
  :func:`~logiflow.adapters.render_child.child_main`: receive an Invoice over a Pipe, render it
  with :class:`~logiflow.adapters.pdf.ReportlabInvoiceRenderer`, answer.
* The parent waits for an answer with ``loop.add_reader`` on the pipe, so the loop keeps
  running. An ``asyncio.Queue`` of idle slots bounds concurrency to N renders.
* A render slower than ``timeout_s`` gets its child SIGKILLed and replaced (:class:`RenderTimeout`);
  a child that dies is replaced (:class:`RenderCrashed`); an exception inside the renderer is
  reported (:class:`RenderFailed`) and the child is kept. A caller cancelled mid-render kills its
  child (its late answer must not reach the next caller). After ``recycle_after`` renders a child
  is retired gracefully and replaced, which bounds leaks.

``fault_file`` is a test seam (:mod:`logiflow.adapters.render_faults`); empty in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from logiflow.adapters.render_child import PROBE_INVOICE, child_main, context, readable, wait_ready
from logiflow.adapters.render_faults import FaultFile
from logiflow.adapters.render_stats import DURATION_BUCKETS, RenderStats, no_renders
from logiflow.errors import RenderCrashed, RenderFailed, RenderTimeout
from logiflow.processing.metrics import Histogram

if TYPE_CHECKING:
    from logiflow.domain.invoice import Invoice

log = logging.getLogger(__name__)

# A retired or stopped child gets this long to exit on its own before it is killed.
EXIT_GRACE_S = 2.0


class _Slot:
    """One of the N places a renderer process lives in; its process is replaced, not the slot."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.renders = 0
        self.busy = False


class RendererPool:
    """N renderer processes behind ``await render(invoice) -> bytes``; safe for concurrent calls."""

    def __init__(self, workers: int, timeout_s: float, recycle_after: int,
                 fault_file: str = "") -> None:
        if workers < 1 or recycle_after < 1 or timeout_s <= 0:
            raise ValueError("workers and recycle_after must be >= 1 and timeout_s > 0")
        self.workers = workers
        self.timeout_s = timeout_s
        self.recycle_after = recycle_after
        self.fault_file = fault_file
        self._faults = FaultFile.at(fault_file)  # the test seam, chosen here and only here
        self._ctx = context()
        self._slots = [_Slot(i) for i in range(workers)]
        self._idle: asyncio.Queue[_Slot] | None = None
        self._started = False
        self._closed = False
        # multiprocessing's bookkeeping of children is not thread-safe: one start at a time.
        self._start_lock = threading.Lock()
        self._counts = no_renders()
        self._durations = Histogram(DURATION_BUCKETS)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the N children and wait until each has imported reportlab. Idempotent."""
        if self._closed:  # checked first: a start() after stop() must not pass as a no-op
            raise RuntimeError("a stopped RendererPool cannot be restarted")
        if self._started:
            return
        if self._ctx.get_start_method() == "forkserver":
            # The fork server imports the child's module and reportlab once; children fork from
            # it with both loaded (a fork is ~6 ms). Like every spawn/forkserver child, each one still
            # re-runs the parent's main script as __mp_main__ (Python 3.11 ignores "__main__"
            # here), so the entry point must stay guarded and cheap to import.
            self._ctx.set_forkserver_preload(["__main__", "logiflow.adapters.render_child",
                                              "logiflow.adapters.pdf"])
        self._idle = asyncio.Queue()
        self._started = True
        try:
            await asyncio.gather(*(self._spawn(slot) for slot in self._slots))
        except BaseException:
            await self.stop()
            raise
        for slot in self._slots:
            self._idle.put_nowait(slot)

    async def stop(self) -> None:
        """Stop every child: ask politely, then kill. Idempotent; renders in flight fail."""
        if self._closed:
            return
        self._closed = True
        idle = []
        for slot in self._slots:
            if slot.busy and slot.process is not None:
                # Its render() is waiting on the pipe: kill only; that call sees EOF and cleans up.
                with contextlib.suppress(OSError):
                    slot.process.kill()
            elif slot.process is not None:
                if slot.conn is not None:
                    with contextlib.suppress(OSError):
                        slot.conn.send(None)
                idle.append(slot)
        await asyncio.gather(*(self._reap(slot, graceful=True) for slot in idle))

    async def __aenter__(self) -> RendererPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- rendering -----------------------------------------------------------------------------

    async def render(self, invoice: Invoice) -> bytes:
        """Render in a child process. Raises RenderFailed, RenderTimeout or RenderCrashed."""
        if not self._started or self._idle is None:
            raise RuntimeError("RendererPool.start() has not been awaited")
        if self._closed:
            raise RenderCrashed("the renderer pool is stopped")
        slot = await self._idle.get()
        try:
            if slot.process is None:  # a replacement that failed to start earlier
                await self._spawn(slot)
            return await self._render_in(slot, invoice)
        finally:
            self._idle.put_nowait(slot)

    async def healthy(self) -> bool:
        """Render the fixed probe invoice: True if that works now (used by the circuit breaker)."""
        try:
            await self.render(PROBE_INVOICE)
        except (RenderFailed, RenderTimeout, RenderCrashed) as exc:
            log.info("renderer health probe failed: %s", str(exc).partition("\n")[0])
            return False
        return True

    async def _render_in(self, slot: _Slot, invoice: Invoice) -> bytes:
        assert slot.conn is not None and slot.process is not None
        conn = slot.conn
        began = time.perf_counter()
        slot.busy = True
        try:
            try:
                conn.send(invoice)
                if not await readable(conn, self.timeout_s):
                    raise TimeoutError
                status, payload = conn.recv()
            except TimeoutError:
                self._counts["timeouts"] += 1
                pid = slot.process.pid
                await self._replace(slot, kill=True)
                raise RenderTimeout(f"renderer process {pid} did not answer within "
                                    f"{self.timeout_s:g} s; it was killed and replaced") from None
            except (EOFError, OSError):
                self._counts["crashes"] += 1
                pid = slot.process.pid
                exitcode = await self._replace(slot, kill=True)
                raise RenderCrashed(f"renderer process {pid} died (exit code {exitcode}); "
                                    "it was replaced") from None
            except asyncio.CancelledError:
                # The child is mid-render: its late answer must never reach the next caller.
                self._discard(slot)
                raise
        finally:
            slot.busy = False
        if status == "error":
            self._counts["failed"] += 1
            raise RenderFailed(f"renderer raised {payload}")
        self._durations.observe(time.perf_counter() - began)
        self._counts["rendered"] += 1
        slot.renders += 1
        if slot.renders >= self.recycle_after and not self._closed:
            self._counts["recycled"] += 1
            await self._replace(slot, kill=False)  # never raises: an empty slot respawns later
        return bytes(payload)

    # --- process management ----------------------------------------------------------------

    async def _spawn(self, slot: _Slot) -> None:
        """Start a child in ``slot`` and wait for its "ready". Raises RenderCrashed on failure."""
        if self._closed:
            raise RenderCrashed("the renderer pool is stopped")
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=child_main, args=(child_conn, self._faults),
            name=f"logiflow-renderer-{slot.index}", daemon=True)

        def start() -> None:
            with self._start_lock:
                process.start()

        try:
            await asyncio.to_thread(start)
        except OSError as exc:
            parent_conn.close()
            raise RenderCrashed(f"could not start a renderer process: {exc}") from exc
        finally:
            child_conn.close()  # the child has its own copy; ours would hide its EOF
        pid = process.pid
        slot.process, slot.conn, slot.renders = process, parent_conn, 0
        slot.busy = True  # stop() must not close a pipe we are waiting on
        try:
            await wait_ready(parent_conn, pid)
        except (EOFError, OSError) as exc:
            exitcode = await self._reap(slot, graceful=False)
            raise RenderCrashed(f"renderer process {pid} died at start "
                                f"(exit code {exitcode})") from exc
        except BaseException:
            await self._reap(slot, graceful=False)
            raise
        finally:
            slot.busy = False
        if self._closed:  # stop() ran while we were starting
            await self._reap(slot, graceful=False)
            raise RenderCrashed("the renderer pool is stopped")

    async def _replace(self, slot: _Slot, *, kill: bool) -> int | None:
        """Retire (``kill=False``) or kill the slot's child, start another; the old exit code."""
        if not kill and slot.conn is not None:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        exitcode = await self._reap(slot, graceful=not kill)
        if not self._closed:
            try:
                await self._spawn(slot)
            except RenderCrashed as exc:
                # The slot stays empty; the next render() that takes it tries again.
                log.error("could not start a replacement renderer: %s", exc)
        return exitcode

    async def _reap(self, slot: _Slot, *, graceful: bool) -> int | None:
        """Wait for (or force) the slot's process to exit, empty the slot; the exit code."""
        process, conn = slot.process, slot.conn
        slot.process, slot.conn = None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        if graceful:
            await asyncio.to_thread(process.join, EXIT_GRACE_S)
        if process.is_alive():
            with contextlib.suppress(OSError):
                process.kill()
            await asyncio.to_thread(process.join, EXIT_GRACE_S)
        exitcode = process.exitcode
        with contextlib.suppress(ValueError):
            process.close()
        return exitcode

    def _discard(self, slot: _Slot) -> None:
        """Synchronous kill for the cancellation path (no awaiting while being cancelled)."""
        process, conn = slot.process, slot.conn
        slot.process, slot.conn = None, None
        if conn is not None:
            conn.close()
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            # multiprocessing reaps the zombie on its next start(); the slot respawns on next use.

    # --- metrics -------------------------------------------------------------------------------

    def stats(self) -> RenderStats:
        """Counters, live children, and the histogram of successful render durations."""
        return {
            **self._counts,
            "workers": self.workers,
            "alive": sum(1 for s in self._slots if s.process is not None and s.process.is_alive()),
            "render_seconds": self._durations.snapshot(),
        }
