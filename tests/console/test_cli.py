"""The CLI's side of the registry: accounts, pass issue/list/print with --hub, and passes issued
offline with --site recorded in the site's ledger and taken in by the hub started with that site."""

from __future__ import annotations

import json
import subprocess

import httpx

from gatekeeper.scan import decode_file
from tests.kit.provision import gk

UNIT = "3号楼2单元101"


def test_accounts_from_the_command_line(console_hub):
    db = console_hub.db_url
    listed = json.loads(gk("hub", "user", "list", "--db", db, "--json").stdout)["accounts"]
    assert {(a["username"], a["role"]) for a in listed} == {("office", "admin"), ("guard", "viewer")}
    short = gk("hub", "user", "passwd", "--db", db, "--username", "guard", "--password-stdin", code=1)
    assert "10 to 256 characters" in short.output
    gk("hub", "user", "disable", "--db", db, "--username", "guard")
    assert json.loads(gk("hub", "user", "list", "--db", db, "--json").stdout)["accounts"][0]["disabled"] is True
    bad = gk("hub", "user", "add", "--db", db, "--username", "张三", "--role", "viewer", "--password-stdin", code=1)
    assert "username" in bad.output


def test_passes_by_hub_and_by_site(console_hub, site, tmp_path):
    hub = console_hub
    token = gk("hub", "admin-token", "--db", hub.db_url).stdout.strip()
    on_hub = ("--hub", hub.url, "--admin-token", token)
    assert httpx.post(f"{hub.url}/v1/admin/units", json={"name": UNIT, "label": "3-2-101", "quota": 4},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 201
    online = gk("pass", "issue", *on_hub, "--unit", UNIT).stdout.strip()
    offline = gk("pass", "issue", "--site", site.root, "--unit", UNIT, "--label", "3-2-101").stdout.strip()
    no_unit = gk("pass", "issue", *on_hub, code=2)
    assert "--unit" in no_unit.output

    # the site's own list: the offline pass, from its ledger
    mine = [json.loads(line) for line in gk("pass", "list", "--site", site.root, "--json").stdout.splitlines()]
    assert [(p["text"], p["unit"], p["state"]) for p in mine] == [(offline, UNIT, "active")]
    # the hub took the ledger in: both passes in its registry
    listed = [json.loads(line) for line in
              gk("pass", "list", *on_hub, "--unit", UNIT, "--json").stdout.splitlines()]
    assert {p["text"] for p in listed} == {online, offline}
    assert {p["source"] for p in listed} == {"api", "ledger"}

    # revoke the offline one through the hub; print the unit's active passes: only the online one
    pid = next(p["pass_id"] for p in listed if p["text"] == offline)
    gk("pass", "revoke", *on_hub, "--pass-id", pid)
    states = {p["pass_id"]: p["state"] for p in
              map(json.loads, gk("pass", "list", *on_hub, "--json").stdout.splitlines())}
    assert states[pid] == "revoked"
    gk("pass", "print", *on_hub, "--unit", UNIT, "--out", tmp_path / "unit.pdf")
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(tmp_path / "unit.pdf"), str(tmp_path / "p")], check=True)
    assert {c.payload.decode() for png in tmp_path.glob("p*.png") for c in decode_file(png)} == {online}
