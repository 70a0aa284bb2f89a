"""This app's :class:`~logiflow.web.worker_status.WorkerStatus`, made once, and its timer.

The overview, health and metrics handlers read ``status``; the timer keeps its highwaters fresh.
"""

from __future__ import annotations

from logiflow.app import app
from logiflow.web.worker_status import WorkerStatus

HIGHWATER_INTERVAL_S = 2.0

status = WorkerStatus(app)


@app.timer(HIGHWATER_INTERVAL_S)
async def refresh_highwaters() -> None:
    await status.refresh_highwaters()
