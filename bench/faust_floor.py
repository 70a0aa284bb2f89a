"""Faust's own floor: a worker whose only agent consumes the route requests and does nothing.

``faust -A bench.faust_floor worker -l info`` with ``BENCH_FLOOR_TOPIC`` (the pre-filled
requests topic) and ``BENCH_FLOOR_COUNT`` set, plus the worker's ``LOGIFLOW_BROKER``,
``LOGIFLOW_APP_ID``, ``LOGIFLOW_PARTITIONS`` and ``LOGIFLOW_WEB_PORT``. The app is configured
like LogiFlow's (raw bytes, the same consumer and stream settings, the web server on the run's
port) but has no table, no producer traffic and no per-event work: what it reaches is what
Faust's consumer and stream machinery cost per event on this machine, the ceiling for any Faust
agent. It logs ``floor: consumed N at <epoch ms>`` when the N-th event arrives.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import faust

from logiflow.settings import Settings

log = logging.getLogger(__name__)
settings = Settings.from_env()
COUNT = int(os.environ.get("BENCH_FLOOR_COUNT", "0"))

datadir = (settings.data_dir / settings.app_id).absolute()
datadir.mkdir(parents=True, exist_ok=True)  # Faust does not create it
# `faust worker` turns the web server on whatever the app says (its --with-web flag defaults to
# on), so the floor binds it where the run's settings say (a free port per bench run), not 6066.
app = faust.App(
    settings.app_id, broker=settings.broker, store="memory://",
    web_bind=settings.web_host, web_host=settings.web_host, web_port=settings.web_port,
    key_serializer="raw", value_serializer="raw", topic_partitions=settings.partitions,
    consumer_auto_offset_reset="earliest", cython_optimizations=True,
    datadir=str(datadir),
)
source = app.topic(os.environ.get("BENCH_FLOOR_TOPIC", "unset"), key_type=bytes, value_type=bytes)


@app.agent(source, concurrency=1)
async def consume(stream: Any) -> AsyncIterator[None]:
    seen = 0
    async for _event in stream.events():
        seen += 1
        if seen == COUNT:
            log.warning("floor: consumed %d at %d", seen, int(time.time() * 1000))
    yield None  # pragma: no cover - an agent that yields: like the real ones
