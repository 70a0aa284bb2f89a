"""The invoice agent's dedupe state: invoice ids read back from the tail of invoice.events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from logiflow.processing.published import PublishedInvoices, invoice_ids


class Tails:
    def __init__(self, by_partition: dict[int, list[bytes]]) -> None:
        self.by_partition = by_partition
        self.reads: list[int] = []

    async def read(self, partitions: Sequence[int]) -> dict[int, list[bytes]]:
        self.reads.append(list(partitions))
        return {p: self.by_partition.get(p, []) for p in partitions}


def generated(invoice_id: str) -> bytes:
    return json.dumps({"type": "InvoiceGenerated", "invoiceId": invoice_id}).encode()


def test_each_partition_is_read_once_per_generation_and_again_after_a_rebalance() -> None:
    tails = Tails({0: [generated("INV-A")], 1: [generated("INV-B")]})
    generation = [1]
    index = PublishedInvoices(tails.read, lambda: generation[0])

    async def go() -> list[bool]:
        out = [await index.announced(0, "INV-A"), await index.announced(0, "INV-B"),
               await index.announced(1, "INV-B"), await index.announced(0, "INV-A")]
        generation[0] = 2  # a rebalance: what was read may be stale
        tails.by_partition[0].append(generated("INV-C"))
        out.append(await index.announced(0, "INV-C"))
        return out

    assert asyncio.run(go()) == [True, False, True, True, True]
    assert tails.reads == [[0], [1], [0]]


def test_the_first_read_of_a_generation_reads_every_assigned_partition_at_once() -> None:
    tails = Tails({0: [generated("INV-A")], 2: [generated("INV-C")], 3: [generated("INV-D")]})
    generation, assigned = [1], [0, 2, 3]
    index = PublishedInvoices(tails.read, lambda: generation[0], lambda: assigned)

    async def go() -> list[bool]:
        out = [await index.announced(2, "INV-C"), await index.announced(0, "INV-A"),
               await index.announced(3, "INV-A"), await index.announced(3, "INV-D")]
        generation[0], assigned[:] = 2, [1, 3]  # a rebalance: partition 1 came, 0 and 2 went
        out.append(await index.announced(1, "INV-B"))
        return out

    assert asyncio.run(go()) == [True, True, False, True, False]
    # one read for the three partitions, then one for the new generation's two
    assert tails.reads == [[0, 2, 3], [1, 3]]


def test_only_invoice_generated_values_count_and_junk_is_ignored() -> None:
    values = [generated("INV-1"), b"not json", b"[1, 2]", json.dumps({"invoiceId": 7}).encode(),
              generated("INV-2")]
    assert invoice_ids(values) == {"INV-1", "INV-2"}
