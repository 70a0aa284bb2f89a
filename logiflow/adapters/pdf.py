"""Invoice PDFs with reportlab's low-level canvas: the only module that imports reportlab.

:class:`ReportlabInvoiceRenderer` turns an :class:`~logiflow.domain.invoice.Invoice` into the bytes
of a one-page A4 PDF. It is synchronous and CPU-bound, so the worker never calls it on its event
loop: :class:`~logiflow.adapters.render_pool.RendererPool` runs it in child processes.

The layout (what goes where) is :mod:`logiflow.adapters.invoice_layout`; this module measures and
writes it as PDF operators on a ``pdfgen`` canvas, without platypus. What is the same on every
invoice is prepared once per renderer: width tables, font and colour operators, and the static
parts (title, table header) as ready operators. Per invoice only event text is measured, wrapped
and placed.

Guarantees:

* **Deterministic.** reportlab's ``invariant`` mode fixes the creation date and document id, and
  nothing here depends on time, hashing or iteration order, so the same invoice gives the same
  bytes (redelivery rewrites nothing; tests compare bytes).
* **Event text is data, never markup.** It reaches the page only as PDF string operands, escaped
  byte by byte (backslash, parentheses, control and non-ASCII bytes), so nothing in it is
  interpreted. Characters outside the fonts' encoding print as reportlab's canvas prints them: in
  the Symbol font if it has them, else as a black box.
* **One page.** Text is cut and wrapped inside its column (long words are split); a body taller
  than the frame is re-wrapped wider and scaled down to fit, as platypus' ``KeepInFrame`` did.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.pdfbase.pdfdoc import PDFZCompress
from reportlab.pdfbase.pdfmetrics import getFont, unicode2T1
from reportlab.pdfgen.canvas import Canvas

from logiflow.adapters.invoice_layout import (
    BAND_RGB,
    FRAME_HEIGHT,
    FRAME_LEFT,
    FRAME_TOP,
    FRAME_WIDTH,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RULE_RGB,
    STATIC_PARTS,
    STYLES,
    THIN_RULE_RGB,
    TextStyle,
    cut,
    lay_out,
)
from logiflow.domain.invoice import Invoice

SPACE_SHRINK = 0.05  # like platypus, a line's spaces may shrink this much to fit one more word
SHRINK_STEPS = 10  # bisection steps for the scale of a body too tall for the frame
_FONT_NAMES = sorted({style.font for style in STYLES.values()})
# Bytes as PDF string operands: escape the delimiters, write everything not printable ASCII in octal.
_ESCAPES = {ord("\\"): "\\\\", ord("("): "\\(", ord(")"): "\\)"} | {
    i: f"\\{i:03o}" for i in (*range(32), *range(127, 256))}


def _n(v: float) -> str:
    """A number as a PDF operand: at most 3 decimals, no trailing zeros."""
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _rgb(rgb: tuple[float, float, float]) -> str:
    return " ".join(f"{c:.6f}".rstrip("0").rstrip(".") or "0" for c in rgb)


class _Font:
    """A :class:`TextStyle` made ready: widths by character, operators for font and colour."""

    def __init__(self, style: TextStyle, resource: str) -> None:
        self.font = getFont(style.font)
        self.fonts = [self.font, *self.font.substitutionFonts]
        self.size, self.leading, self.encoding = style.size, style.leading, self.font.encName
        self.fill = _rgb(style.rgb) + " rg"
        self.tf = f"{resource} {_n(style.size)} Tf"
        self.widths: dict[str, float] = {}
        for code, width in enumerate(self.font.widths):
            try:
                self.widths[bytes((code,)).decode(self.encoding)] = width * style.size / 1000
            except UnicodeDecodeError:
                continue
        self.space = self.widths[" "]

    def width(self, text: str) -> float:
        try:
            return sum(map(self.widths.__getitem__, text))
        except KeyError:  # outside the encoding: reportlab measures the substitutes
            return float(self.font.stringWidth(text, self.size))

    def wrap(self, text: str, width: float) -> list[tuple[str, float]]:
        """(line, its width) as a platypus Paragraph breaks them: greedy, spaces may shrink by
        :data:`SPACE_SHRINK`, a word wider than the column is split where it overflows."""
        text = text.strip()  # as platypus does: "VAT id: " + "" prints "VAT id:"
        if not text:
            return []
        used = self.width(text)
        if used <= width:
            return [(text, used)]
        lines: list[tuple[str, float]] = []
        words: list[str] = []
        used, space = -self.space, self.space
        for word in text.split(" "):
            w = self.width(word)
            fits = used + space + w <= width + SPACE_SHRINK * space * len(words)
            if w > width and not fits:  # fill this line with its start, the next ones with the rest
                piece, used = "", used + space
                for char in word:
                    cw = self.width(char)
                    if used + cw > width and (piece or cw <= width):
                        lines.append((" ".join([*words, piece]), used) if piece
                                     else (" ".join(words), used - space))
                        words, piece, used = [], "", 0.0
                    piece += char
                    used += cw
                words = [piece]
            elif fits or not words:
                words.append(word)
                used += space + w
            else:
                lines.append((" ".join(words), used))
                words, used = [word], w
        lines.append((" ".join(words), used))
        return lines


class _Page:
    """A :class:`~logiflow.adapters.invoice_layout.Writer` collecting one page's operators."""

    def __init__(self, doc: Any, fonts: dict[str, _Font], parts: dict[str, str]) -> None:
        self.doc, self.fonts, self.parts = doc, fonts, parts
        self.ops: list[str] = ["1 J 1 j"]
        self.fill = ""  # the fill colour in force, so that it is set only when it changes

    def para(self, style: str, x: float, top: float, width: float, text: str,
             right: bool = False) -> float:
        font = self.fonts[style]
        lines = font.wrap(text, width)
        if lines and font.fill != self.fill:
            self.ops.append(font.fill)
            self.fill = font.fill
        baseline = top + font.size
        for line, used in lines:
            spaces = line.count(" ") if used > width else 0
            if spaces:  # a line over the width is squeezed into it by narrower spaces
                self.ops.append(f"{_n((width - used) / spaces)} Tw")
                self._show(font, x, baseline, line)
                self.ops.append("0 Tw")
            else:
                self._show(font, x + width - used if right else x, baseline, line)
            baseline += font.leading
        return len(lines) * font.leading

    def _show(self, font: _Font, x: float, y: float, text: str) -> None:
        try:
            data = text.encode(font.encoding)
        except UnicodeEncodeError:  # runs in the substitute fonts, as reportlab's canvas does
            runs = " ".join(f"{self.doc.getInternalFontName(f.fontName)} {_n(font.size)} Tf "
                            f"({run.decode('latin-1').translate(_ESCAPES)}) Tj"
                            for f, run in unicode2T1(text, font.fonts))
            self.ops.append(f"BT {_n(x)} {_n(-y)} Td {runs} ET")
        else:
            self.ops.append(
                f"BT {font.tf} {_n(x)} {_n(-y)} Td ({data.decode('latin-1').translate(_ESCAPES)}) Tj ET")

    def rule(self, y: float, x0: float, x1: float, thin: bool = False) -> None:
        stroke = f"{_rgb(THIN_RULE_RGB)} RG .25 w" if thin else f"{_rgb(RULE_RGB)} RG .75 w"
        self.ops.append(f"{stroke} {_n(x0)} {_n(-y)} m {_n(x1)} {_n(-y)} l S")

    def band(self, x: float, y: float, width: float, height: float) -> None:
        self.ops.append(f"{_rgb(BAND_RGB)} rg {_n(x)} {_n(-y)} {_n(width)} {_n(-height)} re f")
        self.fill = ""

    def stamp(self, part: str, x: float, y: float) -> None:
        self.ops.append(f"q 1 0 0 1 {_n(x)} {_n(-y)} cm {self.parts[part]} Q")


def _document(canv: Canvas) -> Any:
    """The canvas's PDF document: reportlab has no public accessor for it, and the renderer
    needs it for font resource names and the stream filters (checked by every render test)."""
    return canv._doc  # noqa: SLF001


class ReportlabInvoiceRenderer:
    """Renders one invoice to one A4 page of PDF bytes."""

    def __init__(self) -> None:
        # Fonts registered in a fixed order get the same resource names (/F1, /F2) in every
        # document, so the prepared operators can name them.
        self._resources = self._register(Canvas(io.BytesIO()))
        self._fonts = {name: _Font(style, self._resources[style.font])
                       for name, style in STYLES.items()}
        self._parts: dict[str, str] = {}
        for name, draw in STATIC_PARTS.items():
            part = _Page(None, self._fonts, {})
            draw(part)
            self._parts[name] = " ".join(part.ops[1:])

    @staticmethod
    def _register(canv: Canvas) -> dict[str, str]:
        doc = _document(canv)  # the canvas has no public call for a font's resource name
        return {font: doc.getInternalFontName(font) for font in _FONT_NAMES}

    def render(self, invoice: Invoice) -> bytes:
        buffer = io.BytesIO()
        canv = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=0)
        # Deflate the page, without the ASCII85 layer reportlab adds when it compresses: that layer
        # is pure Python here and cost a quarter of the render; the file is also smaller without.
        _document(canv).defaultStreamFilters = [PDFZCompress]
        canv.setTitle(cut(f"Invoice {invoice.invoice_number}", 120))
        canv.setAuthor(cut(invoice.seller.name, 120))
        canv.setSubject(cut(f"Transport invoice for truck {invoice.truck_id}", 160))
        canv.setCreator("LogiFlow")
        if (resources := self._register(canv)) != self._resources:
            raise RuntimeError(f"reportlab named the fonts {resources}, not {self._resources}")
        page = _Page(_document(canv), self._fonts, self._parts)
        height, scale = lay_out(invoice, page), 1.0
        if height > FRAME_HEIGHT:
            page, scale = self._shrunk(invoice, canv, height)
        page.ops[0] = f"q {scale:.4g} 0 0 {scale:.4g} {_n(FRAME_LEFT)} {_n(FRAME_TOP)} cm {page.ops[0]}"
        page.ops.append("Q")
        canv.addLiteral("\n".join(page.ops))
        canv.showPage()
        canv.save()
        return buffer.getvalue()

    def _shrunk(self, invoice: Invoice, canv: Canvas, height: float) -> tuple[_Page, float]:
        """A body too tall for the frame: wrap free text wider by a factor, then scale it all down
        by that factor, the smallest factor that fits (as platypus' ``KeepInFrame`` shrinks)."""
        low, high = 1.0, height / FRAME_HEIGHT  # wider wrapping never adds lines: ``high`` fits
        for _ in range(SHRINK_STEPS):
            mid = (low + high) / 2
            if lay_out(invoice, _Page(_document(canv), self._fonts, self._parts), FRAME_WIDTH * mid) \
                    <= FRAME_HEIGHT * mid:
                high = mid
            else:
                low = mid
        page = _Page(_document(canv), self._fonts, self._parts)
        height = lay_out(invoice, page, FRAME_WIDTH * high)
        # Rounded down, so that the page never ends up a fraction of a point too tall.
        return page, int(min(1 / high, FRAME_HEIGHT / height) * 10_000) / 10_000
