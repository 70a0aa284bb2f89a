"""The places renderer processes live in, and the renders handed to them.

:class:`~logiflow.adapters.render_pool.RendererPool` owns N :class:`Slot`: a slot starts its
child (:func:`~logiflow.adapters.render_child.child_main`) and reaps it; the pool decides when
(a timeout, a crash, a recycle, a stop). A :class:`Job` is one render waiting for its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from logiflow.adapters.render_child import child_main, wait_ready
from logiflow.adapters.render_faults import FaultFile
from logiflow.errors import RenderCrashed

if TYPE_CHECKING:
    from logiflow.domain.invoice import Invoice

# A retired or stopped child gets this long to exit on its own before it is killed.
EXIT_GRACE_S = 2.0


@dataclass(eq=False)
class Job:
    """One render: its invoice and the PDF (or the failure) its caller waits for."""

    invoice: Invoice
    done: asyncio.Future[bytes] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class Slot:
    """One of the N places a renderer process lives in; its process is replaced, not the slot."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.renders = 0
        self.busy = False
        self.in_hand: list[Job] = []  # sent to the child, not answered yet

    async def spawn(self, ctx: BaseContext, faults: FaultFile | None,
                    start_lock: threading.Lock) -> None:
        """Start this slot's child and wait for its "ready". Raises RenderCrashed on failure."""
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(  # type: ignore[attr-defined]
            target=child_main, args=(child_conn, faults),
            name=f"logiflow-renderer-{self.index}", daemon=True)

        def start() -> None:
            with start_lock:
                process.start()

        try:
            await asyncio.to_thread(start)
        except OSError as exc:
            parent_conn.close()
            raise RenderCrashed(f"could not start a renderer process: {exc}") from exc
        finally:
            child_conn.close()  # the child has its own copy; ours would hide its EOF
        pid = process.pid
        self.process, self.conn, self.renders = process, parent_conn, 0
        self.busy = True  # stop() must not close a pipe we are waiting on
        try:
            await wait_ready(parent_conn, pid)
        except (EOFError, OSError) as exc:
            exitcode = await self.reap(graceful=False)
            raise RenderCrashed(f"renderer process {pid} died at start "
                                f"(exit code {exitcode})") from exc
        except BaseException:
            await self.reap(graceful=False)
            raise
        finally:
            self.busy = False

    async def reap(self, *, graceful: bool) -> int | None:
        """Wait for (or force) this slot's process to exit, empty the slot; the exit code."""
        process, conn = self.process, self.conn
        self.process, self.conn = None, None
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
