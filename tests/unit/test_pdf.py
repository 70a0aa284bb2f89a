"""The invoice PDF: content, one A4 page, deterministic bytes, event text never becomes markup."""

from __future__ import annotations

import io

import pypdf
import pytest

from logiflow.adapters.pdf import ReportlabInvoiceRenderer
from logiflow.domain.invoice import Party
from tests.factories import route_invoice

HOSTILE_TRUCK = '<a href="http://x">TR<img src="x"/></a>'
A4_POINTS = (595.2756, 841.8898)


def read(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


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


def test_invoice_is_exactly_one_a4_page(renderer: ReportlabInvoiceRenderer) -> None:
    pages = read(renderer.render(route_invoice())).pages
    assert len(pages) == 1
    box = pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.01)


def test_same_invoice_renders_to_identical_bytes() -> None:
    invoice = route_invoice()
    assert ReportlabInvoiceRenderer().render(invoice) == ReportlabInvoiceRenderer().render(invoice)


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


def test_text_outside_latin1_does_not_break_rendering(renderer: ReportlabInvoiceRenderer) -> None:
    invoice = route_invoice("TR-Zürich-東京-\u2603")
    text = text_of(renderer.render(invoice))
    assert "TR-Zürich" in text
