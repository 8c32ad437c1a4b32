"""Fixtures for sync tests: a site, a real hub (uvicorn in a subprocess) on 127.0.0.1, and a
throwaway PostgreSQL cluster when the machine has one (``pg_cluster`` and ``db_url`` are in
tests/conftest.py, shared by every hub test folder). Helpers live in tests/kit/hub.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gatekeeper.admin.site import Site
from gatekeeper.hub.store import HubStore
from tests.kit.hub import HubProcess


@pytest.fixture
def site(tmp_path) -> Site:
    return Site.init(tmp_path / "site", scope="demo", now=time.time() - 3600)


@pytest.fixture
def hub(db_url, site) -> Iterator[HubProcess]:
    h = HubProcess(db_url, site.root).start()
    yield h
    h.stop()


@pytest.fixture
def admin_token(hub) -> str:
    store = HubStore.open(hub.db_url)
    try:
        return store.create_admin_token("tests")
    finally:
        store.close()
