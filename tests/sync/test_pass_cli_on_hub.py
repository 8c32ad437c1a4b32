"""``gatekeeper pass revoke/reinstate --hub``: the revocation CLI aimed at a running hub."""

from __future__ import annotations

import time

import httpx
from click.testing import CliRunner

from gatekeeper.cli import main


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def revocation_version(hub) -> int:
    return httpx.get(hub.url + "/v1/health", timeout=5).json()["revocation_version"]


def test_revoke_and_reinstate_on_the_hub_publish_new_versions(hub, site, admin_token):
    _, claims = site.issue_pass(int(time.time()) - 60, int(time.time()) + 86400)
    pid = claims.pass_id.hex()
    before = revocation_version(hub)
    r = cli("pass", "revoke", "--hub", hub.url, "--admin-token", admin_token, "--pass-id", pid, "--state", "red")
    assert r.exit_code == 0, r.output
    assert f"red {pid}" in r.stdout and f"v{before + 1}" in r.stdout
    assert revocation_version(hub) == before + 1
    # the token may come from the environment, as in an admin's script
    r = cli("pass", "reinstate", "--hub", hub.url, "--pass-id", pid, env={"GATEKEEPER_ADMIN_TOKEN": admin_token})
    assert r.exit_code == 0, r.output
    assert revocation_version(hub) == before + 2


def test_a_wrong_admin_token_is_refused_and_changes_nothing(hub, site):
    before = revocation_version(hub)
    r = cli("pass", "revoke", "--hub", hub.url, "--admin-token", "not-a-token", "--pass-id", "ab" * 12)
    assert r.exit_code == 1 and "hub refused (401 admin_only" in r.stderr
    assert revocation_version(hub) == before


def test_site_or_hub_exactly_one(site):
    r = cli("pass", "revoke", "--pass-id", "ab" * 12)
    assert r.exit_code == 2 and "exactly one of --site DIR or --hub URL" in r.output
    r = cli("pass", "revoke", "--site", str(site.root), "--hub", "http://127.0.0.1:9", "--pass-id", "ab" * 12)
    assert r.exit_code == 2
    r = cli("pass", "revoke", "--hub", "http://127.0.0.1:9", "--admin-token", "x", "--pass-id", "ab" * 12)
    assert r.exit_code == 1 and "unreachable" in r.stderr
