"""Where invoice PDFs are kept: a Protocol and a folder-of-files implementation.

Invoices are immutable: ``put_if_absent`` never overwrites, so a redelivered or replayed route
event finds its invoice already there and the first PDF stays the one of record. Only ids made by
:func:`logiflow.domain.invoice.invoice_id_for` are accepted, and they are checked before any path
is built, so an id can never name a file outside the store.

The methods are blocking (file I/O); the invoice agent calls them via ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from logiflow.domain.invoice import is_invoice_id
from logiflow.errors import InvoiceStoreError

SUFFIX = ".pdf"
TMP_SUFFIX = ".tmp"
# A temporary file of a writer on another host (a shared folder) is left alone this long.
TMP_MAX_AGE_S = 3600.0


def check_invoice_id(invoice_id: str) -> str:
    if not isinstance(invoice_id, str) or not is_invoice_id(invoice_id):
        raise ValueError(f"not an invoice id: {str(invoice_id)[:80]!r}")
    return invoice_id


class FileInvoiceStore:
    """One file per invoice, ``root/<invoice_id>.pdf``, created atomically and never replaced.

    A write goes to a temporary file in ``root``, is fsynced, then hard-linked to its final
    name: the link either creates the complete file or fails because it exists, so readers
    never see half a PDF and concurrent writers cannot both win. (``root`` must be on a file
    system with hard links; local disks and NFS are.)
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, invoice_id: str) -> Path:
        return self.root / f"{check_invoice_id(invoice_id)}{SUFFIX}"

    def put_if_absent(self, invoice_id: str, data: bytes) -> tuple[str, bool]:
        final = self._path(invoice_id)
        location = str(final)
        try:
            if os.path.lexists(final):
                return location, False
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{invoice_id}.{os.getpid()}.",
                                       suffix=TMP_SUFFIX)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fchmod(fh.fileno(), 0o644)
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    return location, False
                _fsync_dir(self.root)
                return location, True
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        except OSError as exc:
            raise InvoiceStoreError(f"could not store invoice {invoice_id} in {self.root}: "
                                    f"{exc}") from exc

    def sweep(self) -> int:
        """Remove the temporary files of writers that died mid-write (kill -9); how many.

        A temporary file is ``.<invoice id>.<pid>.<random>.tmp``: it is removed when no process
        of that pid runs here, or when it is older than an hour (a writer takes milliseconds).
        """
        removed = 0
        try:
            names = [n for n in os.listdir(self.root) if n.startswith(".INV-") and n.endswith(TMP_SUFFIX)]
        except FileNotFoundError:
            return 0
        now = time.time()
        for name in names:
            parts = name.split(".")
            pid = int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None
            path = self.root / name
            with contextlib.suppress(FileNotFoundError):
                if (pid is not None and not _alive(pid)) or now - path.stat().st_mtime > TMP_MAX_AGE_S:
                    path.unlink()
                    removed += 1
        return removed

    def get_path(self, invoice_id: str) -> Path | None:
        if not isinstance(invoice_id, str) or not is_invoice_id(invoice_id):
            return None
        path = self.root / f"{invoice_id}{SUFFIX}"
        try:
            if path.is_symlink() or not path.is_file():
                return None
            resolved = path.resolve(strict=True)
            if not resolved.is_relative_to(self.root.resolve(strict=True)):
                return None
        except OSError:
            return None
        return resolved

    def exists(self, invoice_id: str) -> bool:
        return self.get_path(invoice_id) is not None

    def count(self) -> int:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise InvoiceStoreError(f"could not list {self.root}: {exc}") from exc
        return sum(1 for n in names if n.endswith(SUFFIX) and is_invoice_id(n[: -len(SUFFIX)]))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _fsync_dir(path: Path) -> None:
    """Make the new directory entry durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        # Some file systems refuse fsync on a directory; the file itself is synced.
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
