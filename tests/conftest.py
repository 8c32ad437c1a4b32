"""Shared fixtures: keys, a trust list, a pass factory, a real site directory and a device store.

Everything here is real: Ed25519 keys from ``cryptography``, signed files on disk, SQLite files.
Times are fixed (``T0``) for the pure core so that tests never depend on the machine's clock;
tests that go through the CLI use the real clock, as an admin would.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gatekeeper.admin.site import DAY, Site
from gatekeeper.gate.store import Store
from gatekeeper.verify import Issuer, PrivateKey, TrustList
from tests.kit.browser import ARGS, CHROMIUM
from tests.kit.core import SCOPE, T0, MakePass, issue_pass
from tests.kit.hub import PgCluster, pg_bin


@pytest.fixture(scope="session")
def authority() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture(scope="session")
def issuer_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture(scope="session")
def trust(authority: PrivateKey, issuer_key: PrivateKey) -> TrustList:
    """Trust list v1: one issuer for ``maple-court``, trusted a year either side of ``T0``."""
    return TrustList(1, T0 - DAY, (Issuer(issuer_key.public, T0 - 365 * DAY, T0 + 365 * DAY, (SCOPE,)),))


@pytest.fixture(scope="session")
def make_pass(issuer_key: PrivateKey) -> MakePass:
    """``make_pass(**overrides)`` -> a pass text by the trusted issuer; pass ``key=`` for another."""

    def make(key: PrivateKey | None = None, **kw: object) -> str:
        return issue_pass(key or issuer_key, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A real site directory made by ``Site.init`` (real clock), scope ``maple-court``."""
    return Site.init(tmp_path / "site", scope=SCOPE)


@pytest.fixture
def store(tmp_path: Path, site: Site) -> Iterator[Store]:
    """A device store with the site's first trust and revocation lists applied."""
    s = Store(tmp_path / "device.db", site.authority_public)
    s.apply_list(site.trust_file().read_bytes())
    s.apply_list(site.revocation_file().read_bytes())
    yield s
    s.close()


@pytest.fixture(scope="session")
def dump_db() -> Callable[[Path], dict[str, list]]:
    """``dump_db(path)``: a comparable dump of a database file (see :func:`db_dump`)."""
    return db_dump


def db_dump(path: Path) -> dict[str, list]:
    """Every table's rows (sorted) and the schema: two equal dumps mean an unchanged database."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out: dict[str, list] = {"schema": sorted(conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall())}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"):
            out[name] = sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
        return out
    finally:
        conn.close()


# --- shared by every folder that runs a hub or a browser (one instance per session) -------------
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


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (Playwright allows one sync driver per thread)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (the [dev] extra)")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (./dev test installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()
