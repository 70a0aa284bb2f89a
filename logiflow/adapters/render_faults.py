"""TEST SEAM: make renderer processes fail, hang or crash on demand. Never set in production.

Tests (unit, integration, bench) need a renderer that misbehaves the way reportlab might, in a
real worker, switched on and off while it runs. They set ``LOGIFLOW_RENDER_FAULT_FILE`` (or
``RendererPool(fault_file=...)``) to a path; :class:`RendererPool` builds a :class:`FaultFile`
from it, in that one place, and each renderer child calls :meth:`FaultFile.apply` before a
render. With the setting empty (the default) there is no ``FaultFile`` and no call: nothing
here runs in production.

While the file exists, its content ``<mode> [<truck-id> [<times>]]`` decides:

* ``fail`` raises (the pool reports RenderFailed), ``hang`` sleeps forever (RenderTimeout),
  ``crash`` exits at once with :data:`CRASH_EXIT_CODE` (RenderCrashed);
* with a truck id only that truck's invoices misbehave, so the health probe (truck ``PROBE``)
  stays healthy: a message-specific failure rather than an outage;
* with ``times`` the fault fires that many times, then the file removes itself (a flaky
  dependency). Its disappearance also tells a test that a child has taken the invoice. The
  count is read and rewritten without a lock, so ``times`` assumes one renderer process.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

FAIL, HANG, CRASH = "fail", "hang", "crash"
CRASH_EXIT_CODE = 70


@dataclass(frozen=True)
class FaultFile:
    """The fault file at ``path``; picklable, so it travels to the child process."""

    path: str

    @classmethod
    def at(cls, path: str) -> FaultFile | None:
        """The seam for a ``fault_file`` setting: None (no fault injection) when it is empty."""
        return cls(path) if path else None

    def apply(self, truck_id: str) -> None:
        """Misbehave as the file says for an invoice of ``truck_id``; return if it says nothing."""
        mode = self._take(truck_id)
        if mode == FAIL:
            raise RuntimeError("forced render failure")
        if mode == HANG:
            while True:
                time.sleep(3600)
        if mode == CRASH:
            os._exit(CRASH_EXIT_CODE)

    def _take(self, truck_id: str) -> str:
        """The mode that applies to this render, consuming one of its ``times`` if limited."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                words = fh.read().split()
        except OSError:
            return ""
        if not words or (len(words) > 1 and words[1] != truck_id):
            return ""
        mode = words[0].lower()
        if len(words) > 2 and words[2].isdigit():
            left = int(words[2]) - 1
            with contextlib.suppress(OSError):
                if left <= 0:
                    os.unlink(self.path)
                else:
                    tmp = f"{self.path}.tmp"
                    with open(tmp, "w", encoding="utf-8") as fh:
                        fh.write(f"{mode} {words[1]} {left}")
                    os.replace(tmp, self.path)
        return mode
