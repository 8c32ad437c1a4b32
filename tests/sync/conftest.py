"""Fixtures for sync tests: a site, a real hub (uvicorn in a subprocess) on 127.0.0.1, and a
throwaway PostgreSQL cluster when the machine has one. Helpers live in hubkit.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from gatekeeper.site import Site
from gatekeeper.sync.hubstore import HubStore

from hubkit import PG_BIN, HubProcess, PgCluster, as_postgres, free_port, new_pg_database


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster | str]:
    """A throwaway PostgreSQL 15 cluster in a temporary directory, or the reason there is none."""
    if not (PG_BIN / "initdb").exists():
        yield f"PostgreSQL 15 binaries not found in {PG_BIN}"
        return
    root = Path(tempfile.mkdtemp(prefix="gk-pg-"))
    os.chmod(root, 0o777)
    port = free_port()
    data = root / "data"
    init = as_postgres(f"{PG_BIN}/initdb -D {data} -A trust -U gk >/dev/null 2>&1 && "
                       f"{PG_BIN}/pg_ctl -D {data} -l {root}/log -w -o "
                       f"'-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' "
                       "start >/dev/null")
    if subprocess.run(init).returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        yield "could not start a PostgreSQL cluster (initdb/pg_ctl failed)"
        return
    try:
        yield PgCluster(root, port)
    finally:
        subprocess.run(as_postgres(f"{PG_BIN}/pg_ctl -D {data} -m immediate stop >/dev/null"))
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, pg_cluster) -> str:
    """The hub database: SQLite, and PostgreSQL when a cluster could be started."""
    if request.param == "sqlite":
        return str(tmp_path / "hub.db")
    if isinstance(pg_cluster, str):
        pytest.skip(pg_cluster)
    return new_pg_database(pg_cluster)


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
