"""Household letters: one A4 page per unit with the link to its residents' page, as a QR and as a
code to type, and short instructions in Chinese and English.

The layout is a pure function from letters to PDF bytes; making the codes (and so replacing the
old ones) is :mod:`gatekeeper.hub.residents`' business, writing the file the caller's.

Chinese needs a CJK font embedded in the PDF (fpdf2's core fonts have none). Debian's
fonts-noto-cjk ships Noto Sans CJK only as OpenType collections (.ttc); fpdf2 reads a collection
directly given the face's index, so the Simplified Chinese face is picked from it by name and
subset into the PDF (only the glyphs used are embedded: a 6,000-page PDF stays small). Needs fpdf2
(the ``print`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import segno
from fontTools.ttLib import TTCollection, TTLibError
from fpdf import FPDF

from gatekeeper.admin import draw_qr
from gatekeeper.hub.registry import Actor
from gatekeeper.hub.residents import Residents, new_code

PAGE_W = 210.0   # A4 portrait, millimetres
MARGIN = 20.0
QR_BOX = 90.0    # with its quiet zone: large enough for any phone camera at reading distance
TEXT_W = PAGE_W - 2 * MARGIN
#: One QR mask for every letter: choosing the best of eight (segno's default) is half the time of a
#: 6,000-letter run, and any of the eight is a valid code every reader decodes; the letters are read by
#: phones at arm's length, never at the edge of a gate camera's reach.
MASK = 2

#: Where a CJK font is looked for, in order: ``$GATEKEEPER_CJK_FONT`` first, then Debian's packages.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",    # fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",             # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",               # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",                 # fonts-arphic-uming
)

#: The letter's text (catalogue msgids): printed in Chinese (the zh_CN catalogue) and then in English.
TITLE = "Household pass letter"
CODE = "Code"
STEPS = (
    "1. Scan the QR code with your phone (or open the address above in a browser, or type the code on the "
    "site's first page).",
    "2. Tap \"Get a pass\" and hold the code on your phone to the gate's camera. Tap a pass to show it full "
    "screen; it opens offline too.",
    "3. Lost phone: open the same link on any phone and tap \"Report lost\" on that pass: it stops working at "
    "once and you can get a new one straight away.",
    "4. No name, phone number or ID number is asked. Keep this letter safe: whoever holds it can get your "
    "household's passes. A reprinted letter replaces this code.",
)


class LetterError(Exception):
    """Letters that cannot be made: no CJK font on this machine, or nothing to print."""


@dataclass(frozen=True)
class Letter:
    """One household's letter: the unit's name, its link (``BASE-URL/r/<code>``) and the code."""

    unit: str
    link: str
    code: str


@dataclass(frozen=True)
class FontFace:
    """A font file and the face to use in it (0 for a plain .ttf/.otf)."""

    path: Path
    index: int = 0


def find_cjk_font(candidates: Sequence[str] = FONT_CANDIDATES) -> FontFace:
    """The first CJK font found (``$GATEKEEPER_CJK_FONT``, then ``candidates``); in a collection,
    its Simplified Chinese face. LetterError naming the package to install when there is none."""
    env = os.environ.get("GATEKEEPER_CJK_FONT")
    for name in ([env] if env else []) + list(candidates):
        path = Path(name)
        if path.is_file():
            return FontFace(path, _simplified_chinese_face(path))
    raise LetterError("no CJK font found for the letters' Chinese text: install Debian's fonts-noto-cjk "
                      "(or set GATEKEEPER_CJK_FONT to a .ttf/.otf/.ttc with Chinese glyphs)")


def _simplified_chinese_face(path: Path) -> int:
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    try:
        faces = TTCollection(str(path), lazy=True).fonts
    except (TTLibError, OSError) as e:
        raise LetterError(f"{path}: not a readable font collection: {e}") from None
    names = [str(f["name"].getDebugName(4) or "") for f in faces]
    # "Noto Sans CJK SC" is Simplified Chinese; the Mono faces are too narrow for the letter's text
    for i, n in enumerate(names):
        if n.endswith(" SC") and "Mono" not in n:
            return i
    return 0


def render_letters(letters: Sequence[Letter], site_name: str, chinese: Callable[[str], str]) -> bytes:
    """One A4 page per letter, as PDF bytes; ``chinese`` translates the letter's text (the zh_CN
    catalogue's gettext). LetterError for no letters or no font."""
    if not letters:
        raise LetterError("no units to print letters for")
    face = find_cjk_font()
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font("cjk", "", str(face.path), collection_font_number=face.index)
    pdf.set_title("Gatekeeper household letters")
    pdf.set_creator("gatekeeper hub letters")
    pdf.set_auto_page_break(False)  # one letter is one page, placed by coordinates
    pdf.set_margins(MARGIN, MARGIN)
    steps: list[tuple[float, list[list[str]]]] = []
    for letter in letters:
        pdf.add_page()
        steps = steps or _wrapped_steps(pdf, chinese)  # fpdf2 measures text only once there is a page
        _letter(pdf, letter, f"{site_name} · {chinese(TITLE)} · {TITLE}", f"{chinese(CODE)} · {CODE}", steps)
    return bytes(pdf.output())


def _wrapped_steps(pdf: FPDF, chinese: Callable[[str], str]) -> list[tuple[float, list[list[str]]]]:
    """The instructions broken into lines once: breaking them again on every page costs most of the
    time of a 6,000-page run. (type size, lines of each step) per language."""
    out = []
    for steps, size in (([chinese(s) for s in STEPS], 10.5), (STEPS, 9.5)):
        pdf.set_font("cjk", size=size)
        out.append((size, [pdf.multi_cell(TEXT_W, size * 0.45, s, wrapmode="CHAR", dry_run=True, output="LINES")
                           for s in steps]))
    return out


def _letter(pdf: FPDF, letter: Letter, head: str, code_head: str,
            steps: list[tuple[float, list[list[str]]]]) -> None:
    pdf.set_text_color(110)
    pdf.set_font("cjk", size=9)
    pdf.set_xy(MARGIN, 12)
    pdf.cell(TEXT_W, 5, head, align="C")
    pdf.set_text_color(0)
    _fitted(pdf, letter.unit, 18, 28, 12)
    draw_qr(pdf, (PAGE_W - QR_BOX) / 2, 34, QR_BOX, segno.make(letter.link, error="m", micro=False, mask=MASK))
    pdf.set_font("cjk", size=9)
    pdf.set_xy(MARGIN, 126)
    pdf.cell(TEXT_W, 5, letter.link, align="C")
    pdf.set_text_color(90)
    pdf.set_xy(MARGIN, 133)
    pdf.cell(TEXT_W, 5, code_head, align="C")
    pdf.set_text_color(0)
    pdf.set_font("cjk", size=24)
    pdf.set_char_spacing(1.5)
    pdf.set_xy(MARGIN, 139)
    pdf.cell(TEXT_W, 11, letter.code, align="C")
    pdf.set_char_spacing(0)
    y = 160.0
    for size, language in steps:
        pdf.set_font("cjk", size=size)
        for lines in language:
            for line in lines:
                pdf.set_xy(MARGIN, y)
                pdf.cell(TEXT_W, size * 0.45, line)
                y += size * 0.45
            y += 1.6
        y += 4.0


def _fitted(pdf: FPDF, text: str, y: float, size: float, min_size: float) -> None:
    """``text`` centred on one line at ``y``, its type shrunk (down to ``min_size``) to fit."""
    while True:
        pdf.set_font("cjk", size=size)
        if pdf.get_string_width(text) <= TEXT_W or size <= min_size:
            break
        size -= 1
    pdf.set_xy(MARGIN, y)
    pdf.cell(TEXT_W, size * 0.45, text, align="C")


def resident_link(base_url: str, code: str) -> str:
    """The link a letter's QR holds: ``BASE-URL/r/<code>``."""
    return f"{base_url.rstrip('/')}/r/{code}"


def check_base_url(base_url: str) -> str:
    """``base_url`` when it is an http(s) URL with a host and no query; ValueError saying why not."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{base_url!r} is not a base URL such as https://hub.example.org (http or https, a host, "
                         "no query)")
    return base_url.strip().rstrip("/")


def issue_letters(residents: Residents, units: Sequence[str], base_url: str, site_name: str, actor: Actor,
                  chinese: Callable[[str], str], deliver: Callable[[bytes], None]) -> int:
    """New codes for ``units``, their letters rendered and handed to ``deliver`` (write the file,
    send the download), and only then the codes made the units' own (the old ones stop working);
    how many letters. A failure before that leaves every unit's old letter working."""
    units = residents.check_units(units)
    codes = {unit: new_code() for unit in units}
    pdf = render_letters([Letter(u, resident_link(base_url, c), c) for u, c in codes.items()], site_name, chinese)
    deliver(pdf)
    residents.replace_codes(codes, actor)
    return len(codes)
