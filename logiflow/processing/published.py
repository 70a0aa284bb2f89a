"""Which invoices were already announced on a partition: the invoice agent's dedupe state.

A worker killed after an ``InvoiceGenerated`` was acknowledged by the broker but before the
``invoices-issued`` table write reached its changelog (or before the source offset was
committed) sees that route event again after the restart, and its own table cannot tell that
the invoice was announced. The announcement itself can: ``invoice.events`` is co-partitioned
with ``routing.events`` (both keyed by truck id, same partition count), so the invoices of the
route events on source partition ``p`` are on ``invoice.events`` partition ``p``.

:class:`PublishedInvoices` reads the tail of that partition once per partition per consumer
generation (after a restart or a rebalance, when the agent first meets an event of the
partition; the tails of every partition assigned then are read with it, in one go, so a
restarted worker does not stall its invoicing once per partition) and answers "announced
already?" for the invoice ids it found. The tail is bounded
(``LOGIFLOW_DEDUPE_TAIL``): a duplicate can only come from source events not yet committed,
at most a few commit intervals' worth, far fewer than the tail.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

# partitions -> the values of each one's tail
TailReader = Callable[[Sequence[int]], Awaitable[dict[int, list[bytes]]]]


class PublishedInvoices:
    """Invoice ids found on the tail of each ``invoice.events`` partition, per generation."""

    def __init__(self, read_tails: TailReader, generation: Callable[[], int],
                 assigned: Callable[[], Iterable[int]] = tuple) -> None:
        self._read_tails = read_tails
        self._generation = generation
        self._assigned = assigned
        self._seen_generation: int | None = None
        self._ids: dict[int, set[str]] = {}

    async def announced(self, partition: int, invoice_id: str) -> bool:
        """True if ``invoice_id`` is on the tail read for ``partition`` (read on first use,
        with the tails of the other assigned partitions not read yet)."""
        generation = self._generation()
        if generation != self._seen_generation:
            self._ids.clear()  # the assignment changed: what we read may be stale
            self._seen_generation = generation
        ids = self._ids.get(partition)
        if ids is None:
            wanted = sorted({partition, *self._assigned()} - self._ids.keys())
            tails = await self._read_tails(wanted)
            for p in wanted:
                self._ids[p] = invoice_ids(tails.get(p, []))
            log.info("invoice.events partitions %s: %s recent invoices read for deduplication",
                     wanted, [len(self._ids[p]) for p in wanted])
            ids = self._ids[partition]
        return invoice_id in ids


def invoice_ids(values: list[bytes]) -> set[str]:
    """The invoice ids of the InvoiceGenerated values among ``values`` (others are ignored)."""
    out = set()
    for raw in values:
        try:
            obj: Any = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if isinstance(obj, dict) and isinstance(obj.get("invoiceId"), str):
            out.add(obj["invoiceId"])
    return out
