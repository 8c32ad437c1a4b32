"""Fixtures for provisioning tests: one site and one real hub on 127.0.0.1 per module (a hub
process takes a second to start; tokens keep the tests independent of each other)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper.admin.site import Site
from tests.kit.hub import HubProcess


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = Site.init(tmp_path_factory.mktemp("site") / "site", scope="maple-court", name="Maple Court",
                     now=time.time() - 3600)
    return site.root


@pytest.fixture
def site(site_dir: Path) -> Site:
    return Site.open(site_dir)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, site_dir: Path) -> Iterator[HubProcess]:
    h = HubProcess(str(tmp_path_factory.mktemp("hub") / "hub.db"), site_dir).start()
    yield h
    h.stop()
