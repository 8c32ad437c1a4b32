"""The admin's side: the site (keys, trust and revocation lists, signing) and printed pass sheets.

``passsheet`` needs the ``[print]`` extra (fpdf2) and is imported only where a sheet is made.
"""

from __future__ import annotations

import importlib
from typing import Any

from gatekeeper.admin.ledger import LedgerEntry, append_ledger, ledger_entry, ledger_path, read_ledger
from gatekeeper.admin.site import DAY, ISSUER_YEARS, Site, SiteError, SiteFiles

__all__ = ['DAY', 'ISSUER_YEARS', 'Site', 'SiteError', 'SiteFiles']
__all__ += ["LedgerEntry", "append_ledger", "ledger_entry", "ledger_path", "read_ledger"]
__all__ += ["PER_PAGE", "SheetPass", "draw_qr", "render_sheet"]

_PRINTING = {"PER_PAGE", "SheetPass", "draw_qr", "render_sheet"}


def __getattr__(name: str) -> Any:
    # The sheet needs fpdf2 (the [print] extra): loaded on first use, so a hub without it still starts.
    if name not in _PRINTING:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("gatekeeper.admin.passsheet"), name)
