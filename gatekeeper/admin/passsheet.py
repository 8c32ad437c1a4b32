"""Printable passes: an A4 sheet of pass cards for residents without smartphones.

A printed pass is the same signed ``GK1:`` text as a phone's, so paper is as unforgeable as a
screen. The layout is a pure function from passes to PDF bytes; issuing and writing the file are
the CLI's business (``gatekeeper pass print``).

Each card holds the QR code (drawn as vector rectangles, so it prints sharp at any resolution),
the label in large type, the validity window, the site name, the issuer key id and the pass id,
and a one-line warning. Text uses fpdf2's built-in Helvetica and Courier so the output never
depends on a font installed on the machine; those fonts have no Chinese, so the sheet is in
English only.

Needs fpdf2 (the ``print`` extra): import this module lazily where fpdf2 may be missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo
from typing import NamedTuple

import segno
from fpdf import FPDF

from gatekeeper.isotime import show_local
from gatekeeper.verify import PassClaims, Status

# --- the grid (millimetres) ---------------------------------------------------------------------
PAGE_W, PAGE_H = 210.0, 297.0  # A4 portrait
MARGIN = 10.0                  # most printers cannot print closer to the edge
COLS, ROWS = 2, 4
CARD_W = (PAGE_W - 2 * MARGIN) / COLS   # 95 mm
CARD_H = (PAGE_H - 2 * MARGIN) / ROWS   # 69.25 mm: fits a shirt pocket or a phone-sized sleeve
PAD = 3.0
QR_BOX = 50.0                  # the QR including its quiet zone
QUIET = 4                      # modules of white around the code, as the QR standard asks
#: Below this a cheap printer smears modules together and a gate camera at arm's length
#: no longer resolves them; a pass that would print smaller is refused rather than printed badly.
MIN_MODULE_MM = 0.5
PER_PAGE = COLS * ROWS

WARNING = "Signed pass \u2014 a copy is as good as the original; report a lost pass to your admin."
#: fpdf2's core fonts are drawn with WinAnsiEncoding, so cp1252 (not just Latin-1) is printable:
#: that gives the dashes and the ellipsis.
ENCODING = "windows-1252"


class SheetPass(NamedTuple):
    """One pass to print: its text, its claims (from issuing or :func:`~gatekeeper.verify.parse`)
    and the name of the site that issued it."""

    text: str
    claims: PassClaims
    site: str
    zone: tzinfo = UTC  # the site's time zone: the window is printed in it


def render_sheet(passes: Sequence[SheetPass], make_qr: Callable[[str], segno.QRCode]) -> bytes:
    """Lay ``passes`` out as cards on A4 pages, eight to a page, and return the PDF.

    ``make_qr`` builds the QR code for a pass text; give it the one ``gatekeeper pass issue`` uses
    (:func:`gatekeeper.cli.passes.qr_of`) so a printed pass encodes exactly like a PNG one.
    Raises ValueError for an empty list or a pass whose QR would print too small to scan.
    """
    if not passes:
        raise ValueError("no passes to print")
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_title("Gatekeeper passes")
    pdf.set_creator("gatekeeper pass print")
    pdf.set_auto_page_break(False)  # cards are placed by coordinates; never let fpdf2 move them
    pages = (len(passes) + PER_PAGE - 1) // PER_PAGE
    for i, p in enumerate(passes):
        slot = i % PER_PAGE
        if slot == 0:
            pdf.add_page()
            _page_header(pdf, p, i // PER_PAGE + 1, pages)
        x = MARGIN + (slot % COLS) * CARD_W
        y = MARGIN + (slot // COLS) * CARD_H
        _card(pdf, x, y, p, make_qr(p.text))
    return bytes(pdf.output())


def _page_header(pdf: FPDF, first: SheetPass, page: int, pages: int) -> None:
    pdf.set_text_color(110)
    pdf.set_font("helvetica", size=7)
    pdf.set_xy(MARGIN, 4)
    pdf.cell(PAGE_W - 2 * MARGIN, 4, _printable(
        f"Gatekeeper passes \u00b7 {_site_name(first)} \u00b7 cut along the dashed lines \u00b7 "
        f"page {page} of {pages}"), align="C")


def _card(pdf: FPDF, x: float, y: float, p: SheetPass, qr: segno.QRCode) -> None:
    c = p.claims
    # Cut guide: a light dashed border, light enough that it never reads as part of the code.
    pdf.set_draw_color(170)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.rect(x, y, CARD_W, CARD_H)
    pdf.set_dash_pattern()

    draw_qr(pdf, x + PAD, y + PAD, QR_BOX, qr)

    col_x = x + PAD + QR_BOX + 2.0
    col_w = x + CARD_W - PAD - col_x
    cy = y + PAD + 1.0
    pdf.set_text_color(0)
    cy = _line(pdf, col_x, cy, col_w, _site_name(p), "B", 9, 7)
    cy += 2.0
    if c.label:
        cy = _line(pdf, col_x, cy, col_w, c.label, "B", 26, 11) + 2.5
    else:
        pdf.set_text_color(120)
        cy = _line(pdf, col_x, cy, col_w, "(no label)", "", 10, 10) + 2.5
        pdf.set_text_color(0)
    for head, ts in (("Valid from", c.valid_from), ("until", c.valid_until)):
        pdf.set_text_color(90)
        cy = _line(pdf, col_x, cy, col_w, head, "", 7, 7)
        pdf.set_text_color(0)
        cy = _line(pdf, col_x, cy, col_w, show_local(ts, p.zone), "B", 9, 7) + 0.8
    cy += 1.0
    if c.status is not Status.GREEN:
        # A yellow or red pass is refused at the gate; say so where the admin will see it.
        pdf.set_text_color(160, 0, 0)
        cy = _line(pdf, col_x, cy, col_w, f"Status: {c.status.name} (not admitted)", "B", 8, 6)
        pdf.set_text_color(0)
    pdf.set_text_color(60)
    cy = _line(pdf, col_x, cy, col_w, f"Scope {c.scope}", "", 7, 5)
    cy = _line(pdf, col_x, cy, col_w, f"Issuer {c.kid.hex()}", "", 7, 5, family="courier")
    _line(pdf, col_x, cy, col_w, f"Pass {c.pass_id.hex()}", "", 7, 5, family="courier")

    pdf.set_text_color(0)
    pdf.set_font("helvetica", "I", 7)
    pdf.set_xy(x + PAD, y + PAD + QR_BOX + 1.5)
    pdf.multi_cell(CARD_W - 2 * PAD, 3.2, _printable(WARNING), align="L")


def draw_qr(pdf: FPDF, x: float, y: float, box: float, qr: segno.QRCode) -> None:
    """Draw ``qr`` with its quiet zone filling a ``box`` mm square at (x, y)."""
    rows = [list(r) for r in qr.matrix_iter(scale=1, border=0)]
    n = len(rows)
    module = box / (n + 2 * QUIET)
    if module < MIN_MODULE_MM:
        raise ValueError(f"a pass's QR needs {n} modules a side: {module:.2f} mm each would not scan on paper")
    ox, oy = x + QUIET * module, y + QUIET * module
    # A hair of overlap between rows: anti-aliased renderers otherwise leave faint seams between
    # touching rectangles, which some decoders read as light modules.
    seam = module * 0.02
    pdf.set_fill_color(0)
    for r, row in enumerate(rows):
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            # One rectangle per dark run rather than per module: fewer drawing operations.
            pdf.rect(ox + start * module, oy + r * module, (c - start) * module + seam, module + seam, style="F")


def _line(pdf: FPDF, x: float, y: float, width: float, text: str, style: str, size: float, min_size: float,
          family: str = "helvetica") -> float:
    """Write one line at (x, y), shrinking the type (down to ``min_size``) and then cutting it
    so it fits ``width``; returns the y below it."""
    text = _printable(text)
    while True:
        pdf.set_font(family, style, size)
        if pdf.get_string_width(text) <= width or size <= min_size:
            break
        size -= 0.5
    while pdf.get_string_width(text) > width and len(text) > 1:
        text = text[:-2] + "\u2026"
    height = size * 0.3528 * 1.15  # points to mm, plus leading
    pdf.set_xy(x, y)
    pdf.cell(width, height, text)
    return y + height


def _site_name(p: SheetPass) -> str:
    # The core fonts cannot draw a Chinese site name; the scope is ASCII and names the site too.
    return p.site if _can_print(p.site) else p.claims.scope


def _can_print(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text.encode(ENCODING, "replace").decode(ENCODING)
