"""Where everything goes on an invoice page: what is printed, in which style, at which point.

Pure geometry, no reportlab: :mod:`logiflow.adapters.pdf` supplies a :class:`Writer` that measures,
wraps and draws text in the :data:`STYLES` declared here. The layout reproduces, point for point,
the platypus one LogiFlow used before (``bench/renderer_platypus.py``): the same columns, cell
paddings, spacings and line breaks. Coordinates are PDF points from the top-left corner of the
frame, y growing downwards. :data:`STATIC_PARTS` are drawn the same on every invoice, so a writer
may prepare them once and only place them.

Event text is cut to fixed lengths here (with an ellipsis) and wrapped inside its column by the
writer, so nothing runs off the page; a body taller than the frame is shrunk by the renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from logiflow.domain.invoice import Invoice

MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM  # A4
MARGIN = 18 * MM
PAD = 6.0  # cell padding; also the inset of the platypus frame, kept so the page looks the same
FRAME_LEFT, FRAME_TOP = MARGIN + PAD, PAGE_HEIGHT - MARGIN - PAD
FRAME_WIDTH, FRAME_HEIGHT = PAGE_WIDTH - 2 * (MARGIN + PAD), PAGE_HEIGHT - 2 * (MARGIN + PAD)
TABLE_WIDTH = PAGE_WIDTH - 2 * MARGIN  # tables are centred on the frame, 2 * PAD wider than it
# Limits that keep any invoice on one page; longer text is cut with an ellipsis.
MAX_NAME_CHARS = 120
MAX_ADDRESS_CHARS = 240
MAX_ID_CHARS = 80
MAX_ROUTE_CHARS = 600
MAX_DESCRIPTION_CHARS = 120
MAX_LINES = 20
MAX_NOTES = 6
MAX_NOTE_CHARS = 300

REGULAR, BOLD = "Helvetica", "Helvetica-Bold"  # PDF base fonts: nothing to embed


@dataclass(frozen=True)
class TextStyle:
    font: str
    size: float
    leading: float  # baseline to baseline; a paragraph is lines x leading high
    rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)


STYLES = {
    "base": TextStyle(REGULAR, 9, 11.5),
    "small": TextStyle(REGULAR, 8, 10, (0x44 / 255,) * 3),
    "label": TextStyle(BOLD, 8, 10, (0x55 / 255,) * 3),
    "seller": TextStyle(BOLD, 13, 16),
    "title": TextStyle(BOLD, 20, 24),
    "bold": TextStyle(BOLD, 10, 13),
    "head": TextStyle(BOLD, 9, 11.5, (1.0, 1.0, 1.0)),
}
BAND_RGB = (0x2F / 255, 0x3E / 255, 0x4E / 255)  # the table header's background
RULE_RGB, THIN_RULE_RGB = (0x33 / 255,) * 3, (0xBB / 255,) * 3
COLUMNS = tuple(zip((0.0, 0.46, 0.57, 0.67, 0.82), (0.46, 0.11, 0.1, 0.15, 0.18), strict=True))
HEAD_HEIGHT = PAD + STYLES["head"].leading
TOTALS_WIDTH = TABLE_WIDTH * 0.45


class Writer(Protocol):
    def para(self, style: str, x: float, top: float, width: float, text: str,
             right: bool = False) -> float:
        """Wrap ``text`` to ``width`` and draw it from ``top`` down; return its height."""

    def rule(self, y: float, x0: float, x1: float, thin: bool = False) -> None:
        """A horizontal line."""

    def band(self, x: float, y: float, width: float, height: float) -> None:
        """A filled rectangle in :data:`BAND_RGB`."""

    def stamp(self, part: str, x: float, y: float) -> None:
        """Draw the :data:`STATIC_PARTS` entry ``part`` with its origin at (x, y)."""


def cut(text: str, limit: int) -> str:
    text = " ".join(text.translate(_CONTROLS).split())  # no control characters or runs of space
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


_CONTROLS = dict.fromkeys(i for i in (*range(32), *range(127, 160)) if not chr(i).isspace())


def money(amount: Decimal, currency: str = "") -> str:
    text = f"{amount:,.2f}"
    return f"{text} {cut(currency, 8)}" if currency else text


def quantity(value: Decimal) -> str:
    return f"{value:f}"


def _title(w: Writer) -> None:
    w.para("title", TABLE_WIDTH * 0.55, PAD / 2, TABLE_WIDTH * 0.45, "INVOICE", right=True)


def _table_head(w: Writer) -> None:
    w.band(0, 0, TABLE_WIDTH, HEAD_HEIGHT)
    for i, (label, (x, f)) in enumerate(zip(
            ("Description", "Qty", "Unit", "Unit price", "Amount"), COLUMNS, strict=True)):
        w.para("head", TABLE_WIDTH * x + PAD, PAD / 2, TABLE_WIDTH * f - 2 * PAD, label, right=i >= 3)


STATIC_PARTS: dict[str, Callable[[Writer], None]] = {"title": _title, "table_head": _table_head}


def lay_out(inv: Invoice, w: Writer, frame_width: float = FRAME_WIDTH) -> float:
    """Draw the whole invoice, free text wrapped to ``frame_width``; return the body's height."""
    x = (frame_width - TABLE_WIDTH) / 2
    y = _header(inv, w, x) + 8 * MM
    y += _parties(inv, w, x, y) + 6 * MM
    y += _lines(inv, w, x, y) + 3 * MM
    y += _totals(inv, w, frame_width - TOTALS_WIDTH, y) + 6 * MM
    return y + _notes(inv, w, frame_width, y)


def _header(inv: Invoice, w: Writer, x: float) -> float:
    seller, top, width = inv.seller, PAD / 2, TABLE_WIDTH * 0.55
    left = w.para("seller", x, top, width, cut(seller.name, MAX_NAME_CHARS))
    if seller.address:
        left += w.para("base", x, top + left, width, cut(seller.address, MAX_ADDRESS_CHARS))
    if seller.vat_id:
        left += w.para("base", x, top + left, width, "VAT id: " + cut(seller.vat_id, MAX_ID_CHARS))
    w.stamp("title", x, 0)
    right = STYLES["title"].leading
    for text in ("Invoice number: " + cut(inv.invoice_number, MAX_ID_CHARS),
                 "Invoice date: " + cut(inv.issued_date, 20)):
        right += w.para("base", x + width, top + right, TABLE_WIDTH - width, text, right=True)
    height = top + max(left, right) + PAD
    w.rule(height, x, x + TABLE_WIDTH)
    return height


def _parties(inv: Invoice, w: Writer, x: float, y: float) -> float:
    top, width, party = y + PAD / 2, TABLE_WIDTH * 0.4 - PAD, inv.bill_to
    left = w.para("label", x, top, width, "BILL TO")
    left += w.para("base", x, top + left, width, cut(party.name, MAX_NAME_CHARS))
    if party.address:
        left += w.para("base", x, top + left, width, cut(party.address, MAX_ADDRESS_CHARS))
    if party.vat_id:
        left += w.para("base", x, top + left, width, "VAT id: " + cut(party.vat_id, MAX_ID_CHARS))
    x, width = x + TABLE_WIDTH * 0.4 + PAD, TABLE_WIDTH * 0.6 - 2 * PAD
    right = w.para("label", x, top, width, "SHIPMENT")
    for style, text in (("base", "Truck: " + cut(inv.truck_id, MAX_ID_CHARS)),
                        ("base", "Route: " + cut(inv.route_summary, MAX_ROUTE_CHARS)),
                        ("base", "ETA: " + cut(inv.eta_text, 40)),
                        ("small", "Route event: " + cut(inv.route_event_id, MAX_ID_CHARS))):
        right += w.para(style, x, top + right, width, text)
    return PAD + max(left, right)


def _lines(inv: Invoice, w: Writer, x: float, y: float) -> float:
    w.stamp("table_head", x, y)
    row, shown = y + HEAD_HEIGHT, inv.lines[:MAX_LINES]
    for line in shown:
        cells = ((cut(line.description, MAX_DESCRIPTION_CHARS), False), (quantity(line.quantity), True),
                 (cut(line.unit, 16), False), (money(line.unit_price), True), (money(line.amount), True))
        row += PAD + max(
            w.para("base", x + TABLE_WIDTH * cx + PAD, row + PAD / 2, TABLE_WIDTH * f - 2 * PAD, text, right)
            for (text, right), (cx, f) in zip(cells, COLUMNS, strict=True))
        w.rule(row, x, x + TABLE_WIDTH, thin=True)
    if len(inv.lines) > len(shown):
        more = f"\u2026 and {len(inv.lines) - len(shown)} more lines (included in the totals)"
        row += PAD + w.para("small", x + PAD, row + PAD / 2, TABLE_WIDTH * COLUMNS[0][1] - 2 * PAD, more)
        w.rule(row, x, x + TABLE_WIDTH, thin=True)
    return row - y


def _totals(inv: Invoice, w: Writer, x: float, y: float) -> float:
    rows = (("base", "Net", money(inv.net, inv.currency)),
            ("base", f"VAT {quantity(inv.vat_pct)}%", money(inv.vat, inv.currency)),
            ("bold", "Total", money(inv.gross, inv.currency)))
    row, split = y, TABLE_WIDTH * 0.2  # label column, then amount column
    for style, label, amount in rows:
        if style == "bold":
            w.rule(row, x, x + TOTALS_WIDTH)
        row += PAD + max(w.para(style, x + PAD, row + PAD / 2, split - 2 * PAD, label, right=True),
                         w.para(style, x + split + PAD, row + PAD / 2, TOTALS_WIDTH - split - 2 * PAD,
                                amount, right=True))
    return row - y


def _notes(inv: Invoice, w: Writer, width: float, y: float) -> float:
    start, notes = y, [n for n in inv.notes if n.strip()][:MAX_NOTES]
    if notes:
        y += w.para("label", 0, y, width, "NOTES")
    for note in notes:
        y += w.para("base", 0, y, width, cut(note, MAX_NOTE_CHARS))
    y += 4 * MM
    return y + w.para("small", 0, y, width, "Invoice id " + cut(inv.invoice_id, MAX_ID_CHARS)) - start
