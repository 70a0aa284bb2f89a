"""PDF rendering off the event loop: a pool of renderer processes behind an async API.

The invoice agent runs in a Faust worker's event loop and calls ``await pool.render(invoice)``.
The PDF library may leak, hang or crash, so it never runs in the worker process:

* Each of the N children (multiprocessing ``forkserver`` where available, else ``spawn``; the
  Faust process, which has threads, is never forked) runs
  :func:`~logiflow.adapters.render_child.child_main`: receive an Invoice over a Pipe, render it
  with :class:`~logiflow.adapters.pdf.ReportlabInvoiceRenderer`, answer.
* The parent waits for an answer with ``loop.add_reader`` on the pipe, so the loop keeps
  running. Renders wait in one queue; an idle child takes up to :data:`MAX_PER_CHILD` of them
  in one message and answers each as it is done. A child handed one invoice at a time sat idle
  while each answer crossed the pipe and the next invoice came back (a process wake-up each
  way): 290 invoices/s through the pipe against 519/s in-process on this VM, 485/s with eight
  per message (2026-12-03). Under a light load a message holds one invoice, so latency stays
  one render.
* A render slower than ``timeout_s`` gets its child SIGKILLed and replaced (:class:`RenderTimeout`);
  a child that dies is replaced (:class:`RenderCrashed`); an exception inside the renderer is
  reported (:class:`RenderFailed`) and the child is kept. The invoices a dead or killed child had
  not started go back to the front of the queue. Answers are matched to renders by their order,
  so a cancelled render's late answer is dropped, never given to another caller; a child whose
  every render in hand was cancelled is killed (it may be hung). After ``recycle_after`` renders a child
  is retired gracefully and replaced, which bounds leaks.

``fault_file`` is a test seam (:mod:`logiflow.adapters.render_faults`); empty in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from logiflow.adapters.render_child import PROBE_INVOICE, context, readable
from logiflow.adapters.render_faults import FaultFile
from logiflow.adapters.render_slots import Job, Slot
from logiflow.adapters.render_stats import DURATION_BUCKETS, RenderStats, no_renders
from logiflow.errors import RenderCrashed, RenderFailed, RenderTimeout
from logiflow.processing.metrics import Histogram

if TYPE_CHECKING:
    from logiflow.domain.invoice import Invoice

log = logging.getLogger(__name__)

# Renders handed to one child in one message, at most.
MAX_PER_CHILD = 8


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
        self._slots = [Slot(i) for i in range(workers)]
        self._idle: list[Slot] = []
        self._queue: deque[Job] = deque()
        self._serving: set[asyncio.Future[None]] = set()
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
        self._started = True
        try:
            await asyncio.gather(*(self._spawn(slot) for slot in self._slots))
        except BaseException:
            await self.stop()
            raise
        self._idle = list(self._slots)

    async def stop(self) -> None:
        """Stop every child: ask politely, then kill. Idempotent; renders in flight fail."""
        if self._closed:
            return
        self._closed = True
        while self._queue:
            _fail(self._queue.popleft(), RenderCrashed("the renderer pool is stopped"))
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
        await asyncio.gather(*(slot.reap(graceful=True) for slot in idle))

    async def __aenter__(self) -> RendererPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- rendering -----------------------------------------------------------------------------

    async def render(self, invoice: Invoice) -> bytes:
        """Render in a child process. Raises RenderFailed, RenderTimeout or RenderCrashed."""
        if not self._started:
            raise RuntimeError("RendererPool.start() has not been awaited")
        if self._closed:
            raise RenderCrashed("the renderer pool is stopped")
        job = Job(invoice)
        self._queue.append(job)
        self._dispatch()
        try:
            return await job.done
        except asyncio.CancelledError:
            if job in self._queue:
                self._queue.remove(job)
            self._kill_if_abandoned()
            raise

    async def healthy(self) -> bool:
        """Render the fixed probe invoice: True if that works now (used by the circuit breaker)."""
        try:
            await self.render(PROBE_INVOICE)
        except (RenderFailed, RenderTimeout, RenderCrashed) as exc:
            log.info("renderer health probe failed: %s", str(exc).partition("\n")[0])
            return False
        return True

    def _dispatch(self) -> None:
        """Hand queued renders to idle children, up to MAX_PER_CHILD each."""
        while self._queue and self._idle and not self._closed:
            slot = self._idle.pop()
            room = max(1, min(MAX_PER_CHILD, self.recycle_after - slot.renders))
            jobs = [self._queue.popleft() for _ in range(min(room, len(self._queue)))]
            task = asyncio.ensure_future(self._serve(slot, jobs))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _serve(self, slot: Slot, jobs: list[Job]) -> None:
        try:
            if slot.process is None:  # a replacement that failed to start earlier
                try:
                    await self._spawn(slot)
                except RenderCrashed as exc:
                    for job in jobs:
                        _fail(job, exc)
                    return
            await self._render_in(slot, jobs)
        finally:
            if not self._closed:
                self._idle.append(slot)
                self._dispatch()

    async def _render_in(self, slot: Slot, jobs: list[Job]) -> None:
        assert slot.conn is not None and slot.process is not None
        conn, pid = slot.conn, slot.process.pid
        slot.busy, slot.in_hand = True, list(jobs)
        try:
            conn.send([job.invoice for job in jobs])
            began = time.perf_counter()
            while slot.in_hand:
                job = slot.in_hand[0]
                if not conn.poll() and not await readable(conn, self.timeout_s):
                    self._counts["timeouts"] += 1
                    self._requeue(slot)
                    await self._replace(slot, kill=True)
                    _fail(job, RenderTimeout(f"renderer process {pid} did not answer within "
                                             f"{self.timeout_s:g} s; it was killed and replaced"))
                    return
                status, payload = conn.recv()
                slot.in_hand.pop(0)
                slot.renders += 1
                now = time.perf_counter()
                if status == "error":
                    self._counts["failed"] += 1
                    _fail(job, RenderFailed(f"renderer raised {payload}"))
                else:
                    self._durations.observe(now - began)
                    self._counts["rendered"] += 1
                    if not job.done.done():
                        job.done.set_result(bytes(payload))
                began = now
        except (EOFError, OSError):
            job = slot.in_hand[0]  # the one the child was at when it died
            abandoned = all(j.done.done() for j in slot.in_hand)
            self._requeue(slot)
            if not abandoned:
                self._counts["crashes"] += 1
            exitcode = await self._replace(slot, kill=True)
            _fail(job, RenderCrashed(f"renderer process {pid} died (exit code {exitcode}); "
                                     "it was replaced"))
            return
        finally:
            slot.busy = False
        if slot.renders >= self.recycle_after and not self._closed:
            self._counts["recycled"] += 1
            await self._replace(slot, kill=False)  # never raises: an empty slot respawns later

    def _requeue(self, slot: Slot) -> None:
        """Put the renders the slot's child had not started back at the front of the queue
        (all but its first, the one it was at); fail them if the pool is stopped."""
        rest, slot.in_hand = slot.in_hand[1:], []
        for job in reversed(rest):
            if self._closed:
                _fail(job, RenderCrashed("the renderer pool is stopped"))
            elif not job.done.done():
                self._queue.appendleft(job)

    def _kill_if_abandoned(self) -> None:
        """Kill a child whose every render in hand was cancelled: it may be hung, and nobody
        waits for its answers (its slot sees EOF and replaces it)."""
        for slot in self._slots:
            if slot.in_hand and all(j.done.done() for j in slot.in_hand) and slot.process:
                with contextlib.suppress(OSError):
                    slot.process.kill()

    # --- process management ----------------------------------------------------------------

    async def _spawn(self, slot: Slot) -> None:
        """Start a child in ``slot`` and wait for its "ready". Raises RenderCrashed on failure."""
        if self._closed:
            raise RenderCrashed("the renderer pool is stopped")
        await slot.spawn(self._ctx, self._faults, self._start_lock)
        if self._closed:  # stop() ran while we were starting
            await slot.reap(graceful=False)
            raise RenderCrashed("the renderer pool is stopped")

    async def _replace(self, slot: Slot, *, kill: bool) -> int | None:
        """Retire (``kill=False``) or kill the slot's child, start another; the old exit code."""
        if not kill and slot.conn is not None:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        exitcode = await slot.reap(graceful=not kill)
        if not self._closed:
            try:
                await self._spawn(slot)
            except RenderCrashed as exc:
                # The slot stays empty; the next render() that takes it tries again.
                log.error("could not start a replacement renderer: %s", exc)
        return exitcode

    # --- metrics -------------------------------------------------------------------------------

    def stats(self) -> RenderStats:
        """Counters, live children, and the histogram of successful render durations."""
        return {
            **self._counts,
            "workers": self.workers,
            "alive": sum(1 for s in self._slots if s.process is not None and s.process.is_alive()),
            "render_seconds": self._durations.snapshot(),
        }


def _fail(job: Job, exc: Exception) -> None:
    if not job.done.done():
        job.done.set_exception(exc)
