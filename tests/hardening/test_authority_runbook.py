"""The runbook for a lost or stolen authority key (docs/operations.md), step by step with the real
commands, a real hub on 127.0.0.1 and a real gate directory (issue 15 item 15)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gatekeeper.admin.site import DAY, Site
from gatekeeper.gate.config import load_settings
from gatekeeper.gate.sync import load_device_key
from gatekeeper.hub.process import HubProcess
from gatekeeper.keyfile import read_private_key
from gatekeeper.verify import Issuer, PassClaims, Status, TrustList, issue, new_pass_id
from gatekeeper.wire import device_id, fingerprint
from tests.kit.provision import gk, hub_devices, token


def check(gate: Path, *texts: str) -> list[str]:
    out = gk("check", "--config", gate / "gatekeeper.toml", "--json", *(a for t in texts for a in ("--text", t)))
    return [json.loads(line)["reason"] for line in out.stdout.splitlines()]


def test_a_new_authority_reprovisioned_gates_and_old_passes_refused(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    gk("site", "init", site_dir, "--scope", "maple-court", "--timezone", "Asia/Shanghai")
    old_fp = fingerprint(Site.open(site_dir).authority_public)
    hub = HubProcess(str(tmp_path / "hub.db"), site_dir).start()
    gate = tmp_path / "gate"
    try:
        gk("provision", "--hub", hub.url, "--token", token(hub, "gate-1"), "--gate-id", "gate-1", "--dir", gate,
           "--authority-fingerprint", old_fp, "--set", "gate.pin_factory=mock", "--no-selftest")
        resident = gk("pass", "issue", "--site", site_dir, "--label", "3-201").stdout.strip()
        assert check(gate, resident) == ["ok"]
        old_device = device_id(load_device_key(load_settings(gate / "gatekeeper.toml")).public)
        # What a thief holding the old keys can make: passes and lists signed with them.
        old_keys = {p.name: p for p in (site_dir / "keys").glob("*.key")}

        # Step 1: a new authority.
        rotated = gk("site", "rotate-authority", "--site", site_dir, "--yes")
        site = Site.open(site_dir)
        new_fp = fingerprint(site.authority_public)
        assert new_fp != old_fp and new_fp[:4] in rotated.stdout
        retired = next((site_dir / "keys").glob("retired-*"))
        assert {p.name for p in retired.iterdir()} >= set(old_keys)
        # Step 2: restart the hub so that it serves the new authority and lists.
        hub.stop()
        hub = HubProcess(str(tmp_path / "hub.db"), site_dir).start()
        # A gate not yet provisioned again refuses the new lists: it still trusts the old authority.
        refused = gk("lists", "apply", "--config", gate / "gatekeeper.toml", site.trust_file(), code=1)
        assert f"signed by key {site.authority_public.kid.hex()[:16]}" in refused.stderr
        # Step 3: retire the old device, provision the gate again with the new fingerprint.
        gk("hub", "revoke-device", "--db", hub.db_url, old_device)
        gk("provision", "--hub", hub.url, "--token", token(hub, "gate-1"), "--gate-id", "gate-1", "--dir", gate,
           "--force", "--authority-fingerprint", new_fp, "--set", "gate.pin_factory=mock", "--no-selftest")
        assert hub_devices(hub)[old_device]["revoked_at"] is not None
    finally:
        hub.stop()
    # Old passes are refused; passes issued again open.
    thief_issuer = read_private_key(retired / next(n for n in old_keys if n.startswith("issuer-")), "issuer key")
    now = int(time.time())
    forged = issue(thief_issuer, PassClaims(thief_issuer.kid, new_pass_id(), now - DAY, now + DAY, "maple-court",
                                            Status.GREEN, "9-999"))
    reissued = gk("pass", "issue", "--site", site_dir, "--label", "3-201").stdout.strip()
    assert check(gate, resident, forged, reissued) == ["unknown_issuer", "unknown_issuer", "ok"]
    # A trust list the thief signs with the old authority key (naming their issuer) is refused.
    thief_authority = read_private_key(retired / "authority.key", "authority key")
    forged_list = tmp_path / "trust-v000099.gkl"
    forged_list.write_bytes(TrustList(99, now, (Issuer(thief_issuer.public, now - DAY, now + DAY, ("maple-court",),
                                                       False),)).sign(thief_authority))
    assert f"signed by key {thief_authority.kid.hex()[:16]}" in \
        gk("lists", "apply", "--config", gate / "gatekeeper.toml", forged_list, code=1).stderr
    assert check(gate, forged) == ["unknown_issuer"]
