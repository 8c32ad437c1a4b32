"""``gatekeeper provision --hub URL --token TOKEN --gate-id NAME`` against a real hub on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pwd
import re
import time
from pathlib import Path

import pytest

from gatekeeper.admin.site import DAY, Site
from gatekeeper.gate.checkpoint import load_authority
from gatekeeper.gate.config import load_settings
from gatekeeper.gate.provision import ProvisionError, provision_online
from gatekeeper.gate.sync import load_device_key
from gatekeeper.gate.updater import Updater
from gatekeeper.wire import fingerprint
from tests.kit.hub import HubProcess, free_port
from tests.kit.provision import NO_PI, gk, hub_devices, json_out, mode, token, tree


def test_online_provisioning_makes_a_working_gate(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    now = time.time()
    good, _ = site.issue_pass(now - DAY, now + DAY, label="A-101")
    revoked, claims = site.issue_pass(now - DAY, now + DAY, label="B-202")
    admin = gk("hub", "admin-token", "--db", hub.db_url).stdout.strip()
    gk("pass", "revoke", "--hub", hub.url, "--admin-token", admin, "--pass-id", claims.pass_id.hex())
    gate = tmp_path / "gate"

    out = json_out(gk("provision", "--hub", hub.url, "--token", token(hub, "north-gate"), "--gate-id", "north-gate",
                      "--dir", gate, *NO_PI, "--json"))

    # the files, where the configuration says, with the key private to its owner
    config = gate / "gatekeeper.toml"
    assert out["config"] == str(config)
    settings = load_settings(config)
    assert settings.device.gate_id == "north-gate" and settings.device.scope == "maple-court"
    assert settings.sync.hub_url == hub.url and settings.camera.source == "synthetic"
    key = settings.path(settings.device.device_key)
    assert mode(key) == 0o600
    assert load_authority(settings).raw == site.authority_public.raw
    assert out["authority_fingerprint"] == fingerprint(site.authority_public)
    assert sorted(tree(gate)) == ["gatekeeper.toml", "keys/authority.pub", "keys/device.key", "state/gatekeeper.db"]
    # the hub knows this key as north-gate
    dev_id = load_device_key(settings).kid.hex()
    assert out["device_id"] == dev_id and hub_devices(hub)[dev_id]["gate_id"] == "north-gate"
    # the self-test ran, and passed, on the written configuration
    assert [(s["step"], s["ok"]) for s in out["selftest"]] == [("camera", True), ("decode", True), ("gate", True)]
    # the lists came from the hub: the pass revoked there is refused here, with no further sync
    decided = {t: json_out(gk("check", "--config", config, "--text", t, "--json"))["reason"]
               for t in (good, revoked)}
    assert decided == {good: "ok", revoked: "revoked"}
    gk("selftest", "--config", config)
    # and the device authenticates to the hub with the key it made: its first poll finds nothing new
    updater = Updater(settings.path(settings.device.store), load_authority(settings), settings.sync,
                      load_device_key(settings), "north-gate")
    try:
        assert updater.poll_once().outcome == "unchanged"
    finally:
        updater.close()


@pytest.mark.parametrize("case", ["used", "unknown", "other-gate"])
def test_a_refused_token_writes_nothing(tmp_path: Path, hub: HubProcess, case: str) -> None:
    t = token(hub, "east-gate")
    if case == "used":
        gk("provision", "--hub", hub.url, "--token", t, "--gate-id", "east-gate", "--dir", tmp_path / "first",
           *NO_PI, "--no-selftest")
    elif case == "unknown":
        t = t[:-4] + "AAAA"
    gate_id = "west-gate" if case == "other-gate" else "east-gate"
    before = hub_devices(hub)
    result = gk("provision", "--hub", hub.url, "--token", t, "--gate-id", gate_id, "--dir", tmp_path / "gate",
                code=1)
    expected = {"used": "token already used", "unknown": "token not known to this hub",
                "other-gate": "this token enrols gate 'east-gate', not 'west-gate'"}[case]
    assert f"the hub at {hub.url} refused the enrolment" in result.stderr and expected in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("gatekeeper:")]
    assert len(errors) == 1 and errors[0].endswith("Nothing was written.")  # one clear message
    assert tree(tmp_path / "gate") == {} and hub_devices(hub) == before


def test_an_unreachable_hub_is_named_and_nothing_written(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = gk("provision", "--hub", url, "--token", "gk1_x", "--gate-id", "g", "--dir", tmp_path / "gate", code=1)
    assert f"cannot reach the hub at {url}" in result.stderr and "the token is not spent" in result.stderr
    assert tree(tmp_path / "gate") == {}


def test_a_bad_override_is_refused_before_the_token_is_spent(tmp_path: Path, hub: HubProcess) -> None:
    t = token(hub, "south-gate")
    with pytest.raises(ProvisionError, match=re.escape("sync.hub_url is set by provisioning")):
        provision_online(hub.url, t, "south-gate", tmp_path / "a", {"sync": {"hub_url": "http://elsewhere"}})
    with pytest.raises(ProvisionError, match=re.escape("unknown key 'camera.sorce'")):
        provision_online(hub.url, t, "south-gate", tmp_path / "a", {"camera": {"sorce": "synthetic"}})
    assert tree(tmp_path / "a") == {}
    # the token still works: the overrides the demo passes are all real keys
    demo = {"camera": {"source": "synthetic"}, "gate": {"pin_factory": "mock", "open_time": 1.0},
            "display": {"port": 0}, "sync": {"upload_interval": "1s", "poll_interval": "1s"}}
    p = provision_online(hub.url, t, "south-gate", tmp_path / "a", demo, selftest=False)
    s = load_settings(p.config)
    assert (s.gate.open_time, s.display.port, s.sync.upload_interval, s.sync.poll_interval) == (1.0, 0, 1.0, 1.0)


def test_reprovisioning_is_refused_without_force_and_keeps_the_old_device(tmp_path: Path, hub: HubProcess) -> None:
    gate = tmp_path / "gate"
    gk("provision", "--hub", hub.url, "--token", token(hub), "--gate-id", "gate-r", "--dir", gate, *NO_PI,
       "--no-selftest")
    old = tree(gate)
    t = token(hub)
    result = gk("provision", "--hub", hub.url, "--token", t, "--gate-id", "gate-r", "--dir", gate, code=1)
    assert "already holds a provisioned device: gate 'gate-r'" in result.stderr
    assert "0 passage-log row(s) not yet uploaded" in result.stderr and "--force" in result.stderr
    assert tree(gate) == old
    # the refused run did not spend the token: --force uses it, and keeps the old files aside
    out = json_out(gk("provision", "--hub", hub.url, "--token", t, "--gate-id", "gate-r", "--dir", gate, *NO_PI,
                      "--no-selftest", "--force", "--json"))
    replaced = Path(out["replaced"])
    assert replaced.parent == gate.resolve()
    assert tree(replaced)["keys/device.key"] == old["keys/device.key"] != tree(gate)["keys/device.key"]
    assert tree(replaced)["gatekeeper.toml"] == old["gatekeeper.toml"]


def test_a_pinned_authority_refuses_a_hub_of_another_site(tmp_path: Path, hub: HubProcess) -> None:
    other = Site.init(tmp_path / "other", scope="elm-row")
    fp = fingerprint(other.authority_public)[:20]
    result = gk("provision", "--hub", hub.url, "--token", token(hub), "--gate-id", "g9", "--dir", tmp_path / "gate",
                "--authority-fingerprint", fp, code=1)
    assert "which is not the one given by --authority-fingerprint" in result.stderr
    assert "gatekeeper hub revoke-device" in result.stderr  # the hub enrolled the key: say how to retire it
    assert tree(tmp_path / "gate") == {}


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another account needs root")
def test_the_pi_layout_store_outside_and_files_for_the_daemon_user(tmp_path: Path, hub: HubProcess) -> None:
    """As on a Pi: configuration and keys in /etc/gatekeeper, the store in the unit's state directory,
    key and store owned by the account the daemon runs as."""
    etc, state = tmp_path / "etc" / "gatekeeper", tmp_path / "var" / "lib" / "gatekeeper"
    nobody = pwd.getpwnam("nobody").pw_uid
    args = ("--hub", hub.url, "--gate-id", "gate-pi", "--dir", etc, *NO_PI, "--no-selftest", "--owner", "nobody",
            "--set", f"device.store={json.dumps(str(state / 'gatekeeper.db'))}")
    gk("provision", "--token", token(hub), *args)
    settings = load_settings(etc / "gatekeeper.toml")
    store = settings.path(settings.device.store)
    key = settings.path(settings.device.device_key)
    assert store == state / "gatekeeper.db" and store.exists()
    assert (os.stat(key).st_uid, mode(key)) == (nobody, 0o600)
    assert os.stat(store).st_uid == os.stat(state).st_uid == nobody
    assert os.stat(etc / "gatekeeper.toml").st_uid == 0
    assert sorted(tree(etc)) == ["gatekeeper.toml", "keys/authority.pub", "keys/device.key"]
    gk("lists", "status", "--config", etc / "gatekeeper.toml")
    # replaced with --force: the store outside is kept aside with the rest
    out = json_out(gk("provision", "--token", token(hub), *args, "--force", "--json"))
    assert (Path(out["replaced"]) / "outside" / "gatekeeper.db").exists() and store.exists()


def test_a_hub_without_a_site_cannot_provision_and_says_so(tmp_path: Path) -> None:
    bare = HubProcess(str(tmp_path / "bare.db"), None).start()
    try:
        result = gk("provision", "--hub", bare.url, "--token", token(bare), "--gate-id", "g1", "--dir",
                    tmp_path / "gate", code=1)
    finally:
        bare.stop()
    assert "serves no site (it was started without --site)" in result.stderr
    dev = next(iter(hub_devices(bare)))  # the token was spent on a key: the message names it to retire
    assert f"gatekeeper hub revoke-device {dev}" in result.stderr
    assert tree(tmp_path / "gate") == {}
