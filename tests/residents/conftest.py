"""Fixtures for the residents' tests: a site, a real hub with it on 127.0.0.1 (SQLite), a unit with
a quota of 2 and its letter link, and Chromium as a 375x667 phone with an English browser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gatekeeper.admin import Site
from gatekeeper.hub.process import HubProcess
from tests.residents.phone import PHONE, add_unit, admin_token, letter_links, letters

UNIT = "3号楼2单元101"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site.init(tmp_path / "site", scope="demo", now=time.time() - 3600, timezone="Asia/Shanghai")


@pytest.fixture
def hub(tmp_path: Path, site: Site) -> Iterator[HubProcess]:
    h = HubProcess(str(tmp_path / "hub.db"), site.root).start()
    yield h
    h.stop()


@pytest.fixture
def token(hub: HubProcess) -> str:
    return admin_token(hub)


@pytest.fixture
def link(hub: HubProcess, site: Site, token: str, tmp_path: Path) -> str:
    """The link on the unit's letter: the PDF rendered to PNG and its QR read back."""
    add_unit(hub, token, UNIT, "3-2-101", 2)
    out = tmp_path / "letter.pdf"
    done = letters(hub, site.root, out, UNIT)
    assert done.returncode == 0, done.stderr
    (found,) = letter_links(out, tmp_path)
    return found


class Phone:
    """A browser context as a resident's phone; every host it asks is recorded."""

    def __init__(self, browser, locale: str = "en-US") -> None:
        self.context = browser.new_context(viewport=PHONE, locale=locale, extra_http_headers={
            "Accept-Language": "en-US,en;q=0.9" if locale.startswith("en") else "zh-CN,zh;q=0.9"})
        self.hosts: set[str] = set()
        self.csp_errors: list[str] = []
        self.context.on("request", lambda r: self.hosts.add(urlsplit(r.url).netloc))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.csp_errors.append(m.text) if "Content Security Policy" in m.text
                     else None)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phone(browser) -> Iterator[Phone]:
    p = Phone(browser)
    yield p
    p.close()
