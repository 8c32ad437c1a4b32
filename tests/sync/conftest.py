"""Fixtures for sync tests: a site, a real hub (uvicorn in a subprocess) on 127.0.0.1, and a
throwaway PostgreSQL cluster when the machine has one. Helpers live in tests/kit/hub.py."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from gatekeeper.admin.site import Site
from gatekeeper.hub.store import HubStore
from tests.kit.hub import HubProcess, PgCluster, pg_bin


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster | str]:
    """A throwaway PostgreSQL cluster for the session, or the reason there is none.

    With ``GATEKEEPER_REQUIRE_POSTGRES=1`` (set by .ci/run where PostgreSQL is installed) a cluster
    that cannot start fails the tests instead of skipping them.
    """
    bin_dir = pg_bin()
    reason = None
    if bin_dir is None:
        reason = "PostgreSQL server binaries (initdb) not found: apt-get install postgresql"
    else:
        try:
            cluster = PgCluster.start(bin_dir)
        except RuntimeError as e:
            reason = f"could not start a PostgreSQL cluster from {bin_dir}: {e}"
    if reason is not None:
        if os.environ.get("GATEKEEPER_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        yield reason
        return
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, pg_cluster) -> str:
    """The hub database: SQLite, and PostgreSQL when a cluster could be started."""
    if request.param == "sqlite":
        return str(tmp_path / "hub.db")
    if isinstance(pg_cluster, str):
        pytest.skip(pg_cluster)
    return pg_cluster.new_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return str(tmp_path / "hub.db")


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
