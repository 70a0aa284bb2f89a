"""The invoice store: one contract for the fake and the file store, then file-only safety tests."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from logiflow.adapters.invoice_store import FileInvoiceStore
from logiflow.domain.invoice import invoice_id_for
from logiflow.errors import InvoiceStoreError
from logiflow.ports import InvoiceStore
from tests.support.fakes import FakeInvoiceStore

ID = invoice_id_for("rc-store-1")
OTHER_ID = invoice_id_for("rc-store-2")
BAD_IDS = ["", "INV-", "../x", "INV-../../etc/passwd", "/etc/passwd", "INV-abcdefghijklmnopqrst",
           ID + ".pdf", ID + "/", ID[:-1], ID + "A", "inv-" + ID[4:], "..%2F..%2Fetc%2Fpasswd",
           "INV-..%2F..%2F..%2Fetc%2Fpas", ID[:-1] + "\x00", "INV-%41" + ID[7:]]


def read_back(store: InvoiceStore, invoice_id: str) -> bytes | None:
    if isinstance(store, FakeInvoiceStore):
        return store.read(invoice_id)
    path = store.get_path(invoice_id)
    return path.read_bytes() if path is not None else None


@pytest.fixture(params=["fake", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> InvoiceStore:
    if request.param == "fake":
        return FakeInvoiceStore()
    return FileInvoiceStore(tmp_path / "invoices")


# --- the contract ------------------------------------------------------------------------------

def test_first_put_creates_and_second_put_keeps_the_original(store: InvoiceStore) -> None:
    location, created = store.put_if_absent(ID, b"%PDF-first")
    assert created is True
    assert location.endswith(f"{ID}.pdf")
    assert store.put_if_absent(ID, b"%PDF-second") == (location, False)
    assert read_back(store, ID) == b"%PDF-first"


def test_exists_get_path_and_count_follow_puts(store: InvoiceStore) -> None:
    assert store.count() == 0
    assert not store.exists(ID)
    assert store.get_path(ID) is None
    store.put_if_absent(ID, b"one")
    store.put_if_absent(OTHER_ID, b"two")
    store.put_if_absent(ID, b"again")
    assert store.exists(ID) and store.exists(OTHER_ID)
    path = store.get_path(ID)
    assert path is not None and path.name == f"{ID}.pdf"
    assert store.count() == 2


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_malformed_ids_are_rejected(store: InvoiceStore, bad_id: str) -> None:
    with pytest.raises(ValueError, match="not an invoice id"):
        store.put_if_absent(bad_id, b"x")
    assert store.get_path(bad_id) is None
    assert not store.exists(bad_id)
    assert store.count() == 0


# --- the file store only -----------------------------------------------------------------------

def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = FileInvoiceStore(tmp_path)
    store.put_if_absent(ID, b"one")
    store.put_if_absent(ID, b"two")
    store.put_if_absent(OTHER_ID, b"three")
    assert sorted(os.listdir(tmp_path)) == sorted([f"{ID}.pdf", f"{OTHER_ID}.pdf"])


def test_root_is_created_lazily(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    store = FileInvoiceStore(root)
    assert not root.exists()
    assert store.count() == 0
    store.put_if_absent(ID, b"x")
    assert (root / f"{ID}.pdf").read_bytes() == b"x"


@pytest.mark.parametrize("bad_id", ["../x", "INV-../../etc/passwd", "/etc/passwd",
                                    "..%2Fx", "INV-..%2F..%2Fetc%2Fpasswd", "%2e%2e/x",
                                    "INV-%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"])
def test_get_path_refuses_traversal(tmp_path: Path, bad_id: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "x.pdf").write_bytes(b"secret")
    (tmp_path / "x").write_bytes(b"secret")
    assert FileInvoiceStore(root).get_path(bad_id) is None


def test_get_path_refuses_a_symlink_planted_in_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"secret")
    (root / f"{ID}.pdf").symlink_to(outside)
    store = FileInvoiceStore(root)
    assert store.get_path(ID) is None
    assert not store.exists(ID)
    # A planted name also blocks a write, and the target is never touched.
    assert store.put_if_absent(ID, b"%PDF-new")[1] is False
    assert outside.read_bytes() == b"secret"


def test_a_symlinked_root_is_still_served(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    store = FileInvoiceStore(tmp_path / "link")
    store.put_if_absent(ID, b"x")
    path = store.get_path(ID)
    assert path is not None and path.read_bytes() == b"x"


def test_concurrent_writers_produce_exactly_one_winner(tmp_path: Path) -> None:
    store = FileInvoiceStore(tmp_path)
    barrier = threading.Barrier(8)
    results: dict[int, bool] = {}

    def writer(n: int) -> Callable[[], None]:
        def go() -> None:
            barrier.wait()
            results[n] = store.put_if_absent(ID, f"%PDF-writer-{n}".encode() * 1000)[1]
        return go

    threads = [threading.Thread(target=writer(n)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, created in results.items() if created]
    assert len(results) == 8 and len(winners) == 1
    assert (tmp_path / f"{ID}.pdf").read_bytes() == f"%PDF-writer-{winners[0]}".encode() * 1000
    assert os.listdir(tmp_path) == [f"{ID}.pdf"]


def test_os_errors_become_invoice_store_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    with pytest.raises(InvoiceStoreError, match="could not store invoice"):
        FileInvoiceStore(blocker / "invoices").put_if_absent(ID, b"x")


def test_files_that_are_not_invoices_are_not_counted(tmp_path: Path) -> None:
    store = FileInvoiceStore(tmp_path)
    store.put_if_absent(ID, b"x")
    (tmp_path / "notes.pdf").write_bytes(b"")
    (tmp_path / f".{ID}.abc.tmp").write_bytes(b"")
    assert store.count() == 1


def test_the_sweep_removes_temporary_files_of_dead_writers_and_keeps_live_ones(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = FileInvoiceStore(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    left = tmp_path / f".INV-AAAAAAAAAAAAAAAAAAAAAAAA.{dead_pid}.x1y2.tmp"
    live = tmp_path / f".INV-BBBBBBBBBBBBBBBBBBBBBBBB.{os.getpid()}.x3y4.tmp"
    pdf = tmp_path / "INV-CCCCCCCCCCCCCCCCCCCCCCCC.pdf"
    for path in (left, live, pdf):
        path.write_bytes(b"%PDF")
    assert store.sweep() == 1
    assert not left.exists() and live.exists() and pdf.exists()
