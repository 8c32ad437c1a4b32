"""Debian's chromium driven by Playwright: the one set of launch flags every browser test uses.

Playwright cannot download a browser here; it drives /usr/bin/chromium (``./dev test`` installs it).
The flags keep chromium from reaching for the network on its own (this machine's network is closed).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
