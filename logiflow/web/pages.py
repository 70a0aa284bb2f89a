"""The stats page, its static files and invoice PDF downloads.

Static files are a fixed list packaged with ``logiflow.web`` (no CDN: the page works offline);
a request names one of them, it never supplies a path. The page itself is strict: a Content
Security Policy allows only our own script and style, so even a value that slipped past the
page's escaping could not run.

Invoice downloads accept only well-formed invoice ids (:func:`~logiflow.domain.invoice.is_invoice_id`)
and ask the store for the file (:meth:`~logiflow.adapters.invoice_store.FileInvoiceStore.get_path`
refuses anything outside the store and symlinks); the file is opened without following links.
"""

from __future__ import annotations

import asyncio
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from faust.web import Request, Response, View

from logiflow.app import app
from logiflow.domain.invoice import is_invoice_id
from logiflow.web.errors import BadRequest, NotFound
from logiflow.web.http import json_endpoint

# request name → (packaged file, content type). Nothing else under /static/ exists.
STATIC: dict[str, tuple[str, str]] = {
    "app.css": ("app.css", "text/css; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "favicon.svg": ("favicon.svg", "image/svg+xml"),
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_cache: dict[str, bytes] = {}


def packaged(filename: str) -> bytes:
    """A file shipped in ``logiflow/web/static`` (read once, on first use)."""
    if filename not in _cache:
        _cache[filename] = files("logiflow.web").joinpath("static", filename).read_bytes()
    return _cache[filename]


@app.page("/")
async def index(self: View, request: Request) -> Response:
    return self.bytes(packaged("index.html"),
                      headers={**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"})


@app.page("/static/{name}")
@json_endpoint
async def static(self: View, request: Request, name: str) -> Response:
    known = STATIC.get(name)
    if known is None:
        raise NotFound("no such static file")
    filename, content_type = known
    return self.bytes(packaged(filename), headers={**PAGE_HEADERS, "Content-Type": content_type})


def read_invoice(invoice_id: str) -> bytes | None:
    """The stored PDF's bytes, or None. Blocking: run in a thread."""
    path: Path | None = app.deps.store.get_path(invoice_id)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


@app.page("/invoices/{invoice_id}.pdf")
@json_endpoint
async def download_invoice(self: View, request: Request, invoice_id: str) -> Any:
    if not is_invoice_id(invoice_id):
        raise BadRequest("not an invoice id (INV- and 20 base32 characters)", parameter="invoiceId")
    if request.rel_url.query:
        raise BadRequest("this URL takes no query parameters")
    data = await asyncio.to_thread(read_invoice, invoice_id)
    if data is None:
        raise NotFound("no such invoice on this worker", invoiceId=invoice_id)
    return self.bytes(data, headers={
        "Content-Type": "application/pdf",
        "Content-Disposition": f'attachment; filename="{invoice_id}.pdf"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    })
