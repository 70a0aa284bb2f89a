"""This app's :class:`~logiflow.web.worker_status.WorkerStatus`, made once, and its timers.

The overview, health and metrics handlers read ``status``; one timer keeps its highwaters
fresh, the other tells the app's broker watch when the broker answers again. ``system`` is the
view of every role's consumer group (:mod:`logiflow.web.system`).
"""

from __future__ import annotations

from logiflow.app import app
from logiflow.web.system import System
from logiflow.web.worker_status import WorkerStatus

HIGHWATER_INTERVAL_S = 2.0
BROKER_CHECK_INTERVAL_S = 5.0

status = WorkerStatus(app)
system = System(app.settings)


@app.timer(HIGHWATER_INTERVAL_S)
async def refresh_highwaters() -> None:
    await status.refresh_highwaters()


@app.timer(BROKER_CHECK_INTERVAL_S)
async def watch_broker() -> None:
    broker = await status.broker_status()
    if broker["reachable"]:
        app.broker_watch.reachable()
    else:
        app.broker_watch.unreachable(str(broker["error"]))
