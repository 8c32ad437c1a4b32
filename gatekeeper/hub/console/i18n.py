"""The console's languages: gettext catalogues (``translations/<locale>/LC_MESSAGES/messages.po``)
read at start with Babel, chosen per request from a cookie or the browser's Accept-Language.

English is the source language (the msgids); a missing translation shows the English text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent / "translations"
#: The cookie the language switch sets.
LANG_COOKIE = "gk_lang"
SOURCE = "en"


@dataclass(frozen=True)
class Language:
    """One language: its code (``en``, ``zh_CN``), its name in itself, and its translations."""

    code: str
    name: str
    html_lang: str
    messages: dict[str, str]

    def gettext(self, message: str, **params: object) -> str:
        """``message`` translated, with ``%(name)s`` parameters filled in."""
        text = self.messages.get(message) or message
        return text % params if params else text


def load_catalogues(root: Path = TRANSLATIONS) -> dict[str, Language]:
    """English plus every catalogue under ``root``, keyed by code."""
    languages = {SOURCE: Language(SOURCE, "English", "en", {})}
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        code = po.parts[-3]
        with po.open("rb") as f:
            catalog = read_po(f, locale=code)
        messages = {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string
                    and not m.fuzzy}
        languages[code] = Language(code, {"zh_CN": "中文"}.get(code, code), code.replace("_", "-"), messages)
    return languages


def choose(languages: dict[str, Language], cookie: str | None, accept: str | None) -> Language:
    """The cookie's language when it names one; else the best of Accept-Language; else English."""
    if cookie in languages:
        return languages[cookie]
    preferred = []
    for part in (accept or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag:
            preferred.append((weight, tag.replace("-", "_")))
    ranked = [t for _, t in sorted(preferred, key=lambda p: -p[0])]
    # a bare "zh" (or zh-Hans) means simplified Chinese here
    ranked = [("zh_CN" if t.lower() in ("zh", "zh_hans", "zh_hans_cn", "zh_sg") else t) for t in ranked]
    code = negotiate_locale(ranked, list(languages), sep="_")
    return languages.get(code or SOURCE, languages[SOURCE])
