"""Fixtures for console tests: a real hub (with its site) on 127.0.0.1, SQLite and PostgreSQL,
accounts made with the real CLI, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.kit.hub import HubProcess
from tests.sync.conftest import site  # noqa: F401  (the sync tests' fixture)

PASSWORD = "correct horse battery"


def add_user(db: str, username: str, role: str, password: str = PASSWORD) -> None:
    subprocess.run([sys.executable, "-m", "gatekeeper", "hub", "user", "add", "--db", db, "--username", username,
                    "--role", role, "--password-stdin"], input=password + "\n", text=True, check=True,
                   capture_output=True)


@pytest.fixture
def console_hub(db_url, site) -> Iterator[HubProcess]:  # noqa: F811
    h = HubProcess(db_url, site.root).start()
    add_user(db_url, "office", "admin")
    add_user(db_url, "guard", "viewer")
    yield h
    h.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", extra_http_headers={"Accept-Language": "en-US,en;q=0.9"})
    yield context.new_page()
    context.close()


def sign_in(page, hub: HubProcess, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{hub.url}/console/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
