"""The baseline for ``bench.renderer``: the invoice renderer LogiFlow used before the canvas one.

This is the reportlab **platypus** implementation (``SimpleDocTemplate`` + ``Table`` + ``Paragraph``
inside a shrink-to-fit ``KeepInFrame``) that ``logiflow/adapters/pdf.py`` held until the renderer
was rewritten on reportlab's low-level canvas. It is kept here, outside the package, only so the
benchmark can measure old and new side by side on the same invoice and so the page images can be
compared (``python -m bench.renderer --images DIR``). Nothing in ``logiflow`` imports it.

Guarantees it had (the new renderer keeps them): deterministic bytes (``invariant`` mode), event
text XML-escaped before it reaches a ``Paragraph`` (never markup), one page (text cut to fixed
lengths, the body shrunk to fit).
"""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepInFrame,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from logiflow.domain.invoice import Invoice, InvoiceLine

MARGIN = 18 * mm
# Limits that keep any invoice on one page; longer text is cut with an ellipsis.
MAX_NAME_CHARS = 120
MAX_ADDRESS_CHARS = 240
MAX_ID_CHARS = 80
MAX_ROUTE_CHARS = 600
MAX_DESCRIPTION_CHARS = 120
MAX_LINES = 20
MAX_NOTES = 6
MAX_NOTE_CHARS = 300


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())  # no control characters or runs of whitespace on paper
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _p(text: str, limit: int) -> str:
    """Event text → safe Paragraph markup (cut, then escaped: it can never be markup)."""
    return escape(_cut(text, limit))


def _money(amount: Decimal, currency: str = "") -> str:
    text = f"{amount:,.2f}"
    return f"{text} {escape(_cut(currency, 8))}" if currency else text


def _quantity(value: Decimal) -> str:
    return escape(f"{value:f}")


class PlatypusInvoiceRenderer:
    """The old renderer: one invoice to one A4 page of PDF bytes, laid out by platypus."""

    def __init__(self) -> None:
        base = ParagraphStyle("base", fontName="Helvetica", fontSize=9, leading=11.5,
                              splitLongWords=True)
        self._base = base
        self._small = ParagraphStyle("small", parent=base, fontSize=8, leading=10,
                                     textColor=colors.HexColor("#444444"))
        self._label = ParagraphStyle("label", parent=base, fontName="Helvetica-Bold", fontSize=8,
                                     leading=10, textColor=colors.HexColor("#555555"))
        self._seller = ParagraphStyle("seller", parent=base, fontName="Helvetica-Bold",
                                      fontSize=13, leading=16)
        self._title = ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=20,
                                     leading=24, alignment=TA_RIGHT)
        self._right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
        self._right_bold = ParagraphStyle("right_bold", parent=self._right,
                                          fontName="Helvetica-Bold", fontSize=10, leading=13)
        self._head = ParagraphStyle("head", parent=base, fontName="Helvetica-Bold",
                                    textColor=colors.white)
        self._head_right = ParagraphStyle("head_right", parent=self._head, alignment=TA_RIGHT)

    def render(self, invoice: Invoice) -> bytes:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer, pagesize=A4, invariant=1,
            leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
            title=_cut(f"Invoice {invoice.invoice_number}", 120),
            author=_cut(invoice.seller.name, MAX_NAME_CHARS),
            subject=_cut(f"Transport invoice for truck {invoice.truck_id}", 160),
            creator="LogiFlow",
        )
        body = KeepInFrame(doc.width, doc.height, self._story(invoice, doc.width), mode="shrink")
        doc.build([body])
        return buffer.getvalue()

    # --- sections ----------------------------------------------------------------------------

    def _story(self, inv: Invoice, width: float) -> list[Flowable]:
        return [
            self._header(inv, width),
            Spacer(1, 8 * mm),
            self._parties(inv, width),
            Spacer(1, 6 * mm),
            self._lines(inv, width),
            Spacer(1, 3 * mm),
            self._totals(inv, width),
            Spacer(1, 6 * mm),
            *self._notes(inv),
        ]

    def _header(self, inv: Invoice, width: float) -> Table:
        seller = inv.seller
        left = [Paragraph(_p(seller.name, MAX_NAME_CHARS), self._seller)]
        if seller.address:
            left.append(Paragraph(_p(seller.address, MAX_ADDRESS_CHARS), self._base))
        if seller.vat_id:
            left.append(Paragraph("VAT id: " + _p(seller.vat_id, MAX_ID_CHARS), self._base))
        right = [
            Paragraph("INVOICE", self._title),
            Paragraph("Invoice number: " + _p(inv.invoice_number, MAX_ID_CHARS), self._right),
            Paragraph("Invoice date: " + _p(inv.issued_date, 20), self._right),
        ]
        table = Table([[left, right]], colWidths=[width * 0.55, width * 0.45])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.HexColor("#333333")),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]))
        return table

    def _parties(self, inv: Invoice, width: float) -> Table:
        bill_to = [Paragraph("BILL TO", self._label),
                   Paragraph(_p(inv.bill_to.name, MAX_NAME_CHARS), self._base)]
        if inv.bill_to.address:
            bill_to.append(Paragraph(_p(inv.bill_to.address, MAX_ADDRESS_CHARS), self._base))
        if inv.bill_to.vat_id:
            bill_to.append(Paragraph("VAT id: " + _p(inv.bill_to.vat_id, MAX_ID_CHARS),
                                     self._base))
        shipment = [
            Paragraph("SHIPMENT", self._label),
            Paragraph("Truck: " + _p(inv.truck_id, MAX_ID_CHARS), self._base),
            Paragraph("Route: " + _p(inv.route_summary, MAX_ROUTE_CHARS), self._base),
            Paragraph("ETA: " + _p(inv.eta_text, 40), self._base),
            Paragraph("Route event: " + _p(inv.route_event_id, MAX_ID_CHARS), self._small),
        ]
        table = Table([[bill_to, shipment]], colWidths=[width * 0.4, width * 0.6])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (0, -1), 0),
        ]))
        return table

    def _lines(self, inv: Invoice, width: float) -> Table:
        head = ["Description", "Qty", "Unit", "Unit price", "Amount"]
        rows: list[list[Paragraph]] = [
            [Paragraph(h, self._head if i < 3 else self._head_right) for i, h in enumerate(head)]
        ]
        shown: tuple[InvoiceLine, ...] = inv.lines[:MAX_LINES]
        for line in shown:
            rows.append([
                Paragraph(_p(line.description, MAX_DESCRIPTION_CHARS), self._base),
                Paragraph(_quantity(line.quantity), self._right),
                Paragraph(_p(line.unit, 16), self._base),
                Paragraph(_money(line.unit_price), self._right),
                Paragraph(_money(line.amount), self._right),
            ])
        if len(inv.lines) > len(shown):
            hidden = len(inv.lines) - len(shown)
            rows.append([Paragraph(f"\u2026 and {hidden} more lines (included in the totals)",
                                   self._small), "", "", "", ""])
        widths = [width * f for f in (0.46, 0.11, 0.1, 0.15, 0.18)]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2f3e4e")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
        ]))
        return table

    def _totals(self, inv: Invoice, width: float) -> Table:
        rows = [
            [Paragraph("Net", self._right), Paragraph(_money(inv.net, inv.currency), self._right)],
            [Paragraph(f"VAT {_quantity(inv.vat_pct)}%", self._right),
             Paragraph(_money(inv.vat, inv.currency), self._right)],
            [Paragraph("Total", self._right_bold),
             Paragraph(_money(inv.gross, inv.currency), self._right_bold)],
        ]
        table = Table(rows, colWidths=[width * 0.2, width * 0.25], hAlign="RIGHT")
        table.setStyle(TableStyle([
            ("LINEABOVE", (0, 2), (-1, 2), 0.75, colors.HexColor("#333333")),
            ("RIGHTPADDING", (-1, 0), (-1, -1), 6),
        ]))
        return table

    def _notes(self, inv: Invoice) -> list[Flowable]:
        notes = [n for n in inv.notes if n.strip()][:MAX_NOTES]
        out: list[Flowable] = [Paragraph("NOTES", self._label)] if notes else []
        out += [Paragraph(_p(note, MAX_NOTE_CHARS), self._base) for note in notes]
        out.append(Spacer(1, 4 * mm))
        out.append(Paragraph(
            "Invoice id " + _p(inv.invoice_id, MAX_ID_CHARS), self._small))
        return out
