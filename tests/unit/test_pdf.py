"""The invoice PDF: content, one A4 page, deterministic bytes, event text never becomes markup.

PDFs are read back with pypdf (text, fonts, annotations) and with poppler's ``pdftotext -bbox``
(where every word lands on the page).
"""

from __future__ import annotations

import dataclasses
import html
import io
import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pypdf
import pytest

from logiflow.adapters.pdf import ReportlabInvoiceRenderer
from logiflow.domain.invoice import Party, Rates, price_route
from logiflow.domain.model import RouteCalculated
from tests.support.factories import route_invoice

HOSTILE_TRUCK = '<a href="http://x">TR<img src="x"/></a>'
A4_POINTS = (595.2756, 841.8898)
MARGIN = 18 * 72 / 25.4
FONT_SIZES = {8.0, 9.0, 10.0, 13.0, 20.0}  # every style the invoice uses, in points


def read(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def word_boxes(pdf: bytes, tmp_path: Path, canvas: float = 0) -> list[tuple[float, float, float, float, str]]:
    """Every word poppler finds on the page: (x_min, y_min, x_max, y_max from the top, text).

    With ``canvas`` the page is first enlarged by that many points on every side, so that text drawn
    off the page is found too (at shifted coordinates).
    """
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    if canvas:
        writer = pypdf.PdfWriter()
        page = writer.add_page(read(pdf).pages[0])
        page.mediabox = pypdf.generic.RectangleObject(
            [-canvas, -canvas, A4_POINTS[0] + canvas, A4_POINTS[1] + canvas])
        writer.write(path)
    bbox = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [(float(a), float(b), float(c), float(d), html.unescape(word)) for a, b, c, d, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', bbox)]


def font_sizes(pdf: bytes) -> set[float]:
    sizes: set[float] = set()
    (page,) = read(pdf).pages
    page.extract_text(visitor_text=lambda text, cm, tm, font, size: sizes.add(round(size, 2))
                      if text.strip() else None)
    return sizes


def image_xobjects(page: pypdf.PageObject) -> list[str]:
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources else None
    if not xobjects:
        return []
    xobjects = xobjects.get_object()
    return [name for name in xobjects if xobjects[name].get_object().get("/Subtype") == "/Image"]


@pytest.fixture(scope="module")
def renderer() -> ReportlabInvoiceRenderer:
    return ReportlabInvoiceRenderer()


def test_invoice_shows_number_truck_totals_and_vat(renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice()
    text = text_of(renderer.render(invoice))
    assert invoice.invoice_number in text
    assert "TRUCK-042" in text
    assert f"{invoice.gross:,.2f} EUR" in text
    assert "VAT 19%" in text
    assert "DE123456789" in text
    assert invoice.issued_date in text
    assert invoice.eta_text in text
    assert "Hamburg to Berlin via Hannover" in text
    for line in invoice.lines:
        assert f"{line.amount:,.2f}" in text


def test_invoice_shows_parties_every_line_item_and_the_totals(renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice(bill_to=Party("Kunde & Söhne KG", "Ring 2, 10115 Berlin", "DE987654321"))
    text = " ".join(text_of(renderer.render(invoice)).split())
    for expected in ("LogiFlow Transport GmbH", "Hafenstrasse 1, 20457 Hamburg, Germany",
                     "VAT id: DE123456789", "BILL TO", "Kunde & Söhne KG", "Ring 2, 10115 Berlin",
                     "VAT id: DE987654321", f"Route event: {invoice.route_event_id}",
                     f"Invoice id {invoice.invoice_id}", f"Invoice date: {invoice.issued_date}"):
        assert expected in text
    for line in invoice.lines:
        assert line.description in text
        assert f" {line.quantity:f} " in text
        assert f" {line.unit_price:,.2f} " in text and f" {line.amount:,.2f} " in text
    assert "Distance 412.7 km 1.20 495.24" in text  # one table row, cells in column order
    assert (f"Net {invoice.net:,.2f} EUR VAT 19% {invoice.vat:,.2f} EUR "
            f"Total {invoice.gross:,.2f} EUR") in text
    assert invoice.net + invoice.vat == invoice.gross


def test_a_route_without_distance_shows_the_base_fee_and_says_so(
        renderer: ReportlabInvoiceRenderer) -> None:
    event = RouteCalculated(
        event_id="rc-test-0002", truck_id="TRUCK-043", customer_id=None, eta_ms=1_767_261_600_000,
        timestamp_ms=1_767_225_600_000, origin=None, destination=None, stops=(), distance_km=None)
    invoice = price_route(event, Rates(), Party("LogiFlow Transport GmbH"))
    text = " ".join(text_of(renderer.render(invoice)).split())
    assert "Route base fee 1 route 45.00 45.00" in text and "Distance" not in text
    assert "NOTES No distance was supplied with this route event: billed the base fee only." in text
    assert "Customer of record for truck TRUCK-043" in text
    assert f"Total {invoice.gross:,.2f} EUR" in text


def test_invoice_is_exactly_one_a4_page(renderer: ReportlabInvoiceRenderer) -> None:
    pages = read(renderer.render(route_invoice())).pages
    assert len(pages) == 1
    box = pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.01)


def test_same_invoice_renders_to_identical_bytes() -> None:
    invoice = route_invoice()
    assert ReportlabInvoiceRenderer().render(invoice) == ReportlabInvoiceRenderer().render(invoice)


def test_same_invoice_renders_to_identical_bytes_in_another_process() -> None:
    """Another process, another hash seed: nothing in the bytes may depend on either."""
    invoices = [route_invoice(), route_invoice("TR-Zürich-東京-\u2603", notes=("A long note. " * 100,) * 8)]
    script = ("import sys; from tests.unit.test_pdf import route_invoice; "
              "from logiflow.adapters.pdf import ReportlabInvoiceRenderer; r = ReportlabInvoiceRenderer(); "
              "sys.stdout.buffer.write(r.render(route_invoice()) + b'@@@@' + r.render(route_invoice("
              "'TR-Zürich-東京-\\u2603', notes=('A long note. ' * 100,) * 8)))")
    root = Path(__file__).parents[2]
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, cwd=root,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    renderer = ReportlabInvoiceRenderer()
    assert out.split(b"@@@@") == [renderer.render(invoice) for invoice in invoices]


def test_markup_in_event_text_prints_literally_and_makes_no_link_or_image(
        renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice(HOSTILE_TRUCK, notes=('<font size="40">big</font> & <b>bold</b>',),
                            route_summary='<img src="/etc/passwd"/> to <a href="x">B</a>')
    pdf = renderer.render(invoice)
    text = text_of(pdf)
    assert HOSTILE_TRUCK in text
    assert '<font size="40">big</font> & <b>bold</b>' in text
    assert '<img src="/etc/passwd"/> to <a href="x">B</a>' in text
    (page,) = read(pdf).pages
    assert page.get("/Annots") is None
    assert image_xobjects(page) == []
    assert b"/Link" not in pdf and b"/URI" not in pdf


def test_pdf_operators_in_event_text_print_literally(renderer: ReportlabInvoiceRenderer) -> None:
    forged = ") Tj ET BT /F2 40 Tf 1 0 0 1 100 100 Tm (FORGED) Tj ET BT ("
    invoice = route_invoice("TR(1)\\", notes=(forged, "back\\slash \\) and (parens"))
    pdf = renderer.render(invoice)
    lines = text_of(pdf).splitlines()
    assert "Truck: TR(1)\\" in lines
    assert forged in lines
    assert "back\\slash \\) and (parens" in lines
    assert font_sizes(pdf) <= FONT_SIZES  # no 40 pt text: the operators never ran


def test_control_characters_never_reach_the_page(renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice("TR\x00-\x07042\x7f", notes=("one\n\ttwo\r\nthree\x1b[31m",))
    lines = text_of(renderer.render(invoice)).splitlines()
    assert "Truck: TR-042" in lines
    assert "one two three[31m" in lines


def test_long_text_stays_on_one_page(renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice(
        "T" * 64,
        seller=Party("S" * 500, "Street 1\n" * 80, "V" * 200),
        bill_to=Party("B" * 500, "Road " * 300),
        route_summary=" to ".join(["Somewhere very far away"] * 200),
        lines=route_invoice().lines * 30,
        notes=("A long note. " * 100,) * 20,
    )
    pdf = renderer.render(invoice)
    assert len(read(pdf).pages) == 1
    assert invoice.invoice_number in text_of(pdf)


@pytest.mark.parametrize("extreme", ["long words", "many stops", "many lines and notes", "everything"])
def test_extreme_inputs_stay_inside_the_margins_of_one_page(
        renderer: ReportlabInvoiceRenderer, tmp_path: Path, extreme: str) -> None:
    base = route_invoice()
    words = {"truck_id": "T" * 80, "route_summary": "X" * 600, "notes": ("W" * 300,),
             "seller": Party("S" * 120, "A" * 240, "V" * 80), "bill_to": Party("B" * 120, "R" * 240)}
    stops = {"route_summary": " to ".join(f"Stop number {i} on a long tour" for i in range(100))}
    lines = {"lines": base.lines * 40, "notes": ("A long note. " * 100,) * 20}
    changes = {"long words": words, "many stops": stops, "many lines and notes": lines,
               "everything": {**words, **stops, **lines, "notes": ("N" * 5000,) * 50}}[extreme]
    invoice = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    pdf = renderer.render(invoice)
    assert len(read(pdf).pages) == 1
    boxes = word_boxes(pdf, tmp_path)
    width, height = A4_POINTS
    outside = [b for b in boxes if b[0] < MARGIN - 0.5 or b[2] > width - MARGIN + 0.5
               or b[1] < MARGIN - 0.5 or b[3] > height - MARGIN + 0.5]
    assert boxes and outside == []
    text = text_of(pdf)
    rows: dict[float, list[tuple[float, float]]] = {}
    for x0, y0, x1, _, _ in boxes:
        rows.setdefault(round(y0, 1), []).append((x0, x1))
    overlaps = [(a, b) for row in map(sorted, rows.values()) for a, b in pairwise(row)
                if a[1] > b[0] + 0.5]
    assert overlaps == []  # words on a line never run into each other
    # poppler reports only what lies on the page: on a page far larger it finds no more words.
    assert sorted(b[4] for b in boxes) == sorted(b[4] for b in word_boxes(pdf, tmp_path, canvas=5000))
    assert invoice.invoice_number in text and f"{invoice.gross:,.2f} EUR" in text
    assert f"Invoice id {invoice.invoice_id}" in text  # the last line is on the page too


def test_text_outside_latin1_does_not_break_rendering(renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice("TR-Zürich-東京-\u2603")
    text = text_of(renderer.render(invoice))
    assert "TR-Zürich" in text


def test_characters_outside_the_font_print_as_symbols_or_boxes(renderer: ReportlabInvoiceRenderer) -> None:
    """WinAnsi text as is, Greek from the Symbol font, anything else a black box (one per char)."""
    pdf = renderer.render(route_invoice("€ café — \u03b1\u03b2 東京 \u2603 end"))
    assert "Truck: € café — \u03b1\u03b2 \u25a0\u25a0 \u25a0 end" in text_of(pdf).splitlines()
    fonts = read(pdf).pages[0]["/Resources"]["/Font"]
    assert sorted(str(f.get_object()["/BaseFont"]) for f in fonts.values()) == [
        "/Helvetica", "/Helvetica-Bold", "/Symbol", "/ZapfDingbats"]
