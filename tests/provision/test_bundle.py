"""``gatekeeper hub bundle`` and ``gatekeeper provision --bundle FILE``: offline, signed, pinned."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import cbor2
import pytest

from gatekeeper.admin.site import DAY, Site
from gatekeeper.gate.checkpoint import load_authority
from gatekeeper.gate.config import load_settings
from gatekeeper.gate.sync import load_device_key
from gatekeeper.gate.updater import Updater
from gatekeeper.verify import PrivateKey
from gatekeeper.verify.envelope import open_envelope
from gatekeeper.wire import fingerprint, make_bundle
from tests.kit.hub import HubProcess
from tests.kit.provision import NO_PI, gk, hub_devices, json_out, mode, tree


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("provisioning from a bundle tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write_bundle(tmp_path: Path, hub: HubProcess, site: Site, gate_id: str, *extra: object) -> tuple[Path, dict]:
    out = tmp_path / "stick" / f"{gate_id}.gkb"
    out.parent.mkdir(exist_ok=True)
    made = json_out(gk("hub", "bundle", "--db", hub.db_url, "--site", site.root, "--gate-id", gate_id,
                       "--hub-url", hub.url, "--out", out, "--json", *extra))
    return out, made


def test_bundle_provisions_a_gate_with_no_network(tmp_path: Path, hub: HubProcess, site: Site,
                                                  no_network: None) -> None:
    defaults = tmp_path / "site-defaults.toml"
    defaults.write_text('[policy]\nmax_list_age = "48h"\n\n[gate]\nopen_time = "5s"\n')
    now = time.time()
    ok, _ = site.issue_pass(now - DAY, now + DAY)
    bundle, made = write_bundle(tmp_path, hub, site, "gate-b1", "--defaults", defaults)
    assert mode(bundle) == 0o600  # it holds the gate's private key
    fp = made["authority_fingerprint"]
    assert fp == fingerprint(site.authority_public)

    gate = tmp_path / "gate"
    out = json_out(gk("provision", "--bundle", bundle, "--authority-fingerprint", " ".join([fp[i:i + 4] for i in
                      range(0, 20, 4)]), "--dir", gate, *NO_PI, "--json"))
    assert all(s["ok"] for s in out["selftest"])
    settings = load_settings(gate / "gatekeeper.toml")
    assert settings.device.gate_id == "gate-b1" and settings.device.scope == site.scope
    assert settings.sync.hub_url == hub.url
    assert (settings.policy.max_list_age, settings.gate.open_time) == (48 * 3600, 5.0)  # the site's defaults
    assert mode(settings.path(settings.device.device_key)) == 0o600
    assert out["device_id"] == made["device_id"] == load_device_key(settings).kid.hex()
    assert json_out(gk("check", "--config", gate / "gatekeeper.toml", "--text", ok, "--json"))["reason"] == "ok"


def test_a_bundle_gate_is_known_to_the_hub(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    bundle, made = write_bundle(tmp_path, hub, site, "gate-b2")
    assert hub_devices(hub)[made["device_id"]]["gate_id"] == "gate-b2"
    gate = tmp_path / "gate"
    gk("provision", "--bundle", bundle, "--authority-fingerprint", made["authority_fingerprint"], "--dir", gate,
       *NO_PI, "--no-selftest")
    settings = load_settings(gate / "gatekeeper.toml")
    updater = Updater(settings.path(settings.device.store), load_authority(settings), settings.sync,
                      load_device_key(settings), "gate-b2")
    try:
        assert updater.poll_once().outcome == "unchanged"  # signed with the bundle's key, accepted
    finally:
        updater.close()


def flipped(data: bytes, at: int) -> bytes:
    raw = bytearray(data)
    raw[at] ^= 0x01
    return bytes(raw)


def test_a_tampered_bundle_is_refused_and_nothing_written(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    bundle, made = write_bundle(tmp_path, hub, site, "gate-b3")
    fp = made["authority_fingerprint"]
    data = bundle.read_bytes()
    body = open_envelope(data).body
    at_body = data.index(body)
    at_gate = at_body + body.index(b"gate-b3")
    cases = {
        "a byte of the gate id": (flipped(data, at_gate), "signature does not verify"),
        "a byte of the lists": (flipped(data, at_body + len(body) - 40), "signature does not verify"),
        "a byte of the signature": (flipped(data, len(data) - 1), "signature does not verify"),
        "the CBOR framing": (flipped(data, 0), "not a usable bundle"),
        "truncated": (data[:-10], "not a usable bundle"),
    }
    # re-signed by another key: once with that key in it (the pin refuses it), once still naming
    # the site's authority (the signature refuses it)
    other = PrivateKey.generate()
    fields = cbor2.loads(body)
    cases["re-signed by another key"] = (make_bundle(other, PrivateKey.from_pem(fields["device_key"]), "gate-b3",
                                                     site.scope, site.name, hub.url, fields["lists"]),
                                         "which is not the one given by --authority-fingerprint")
    forged = cbor2.loads(data)
    forged[3] = other.sign(b"gk-bundle/1\x00", body)
    cases["another key's signature"] = (cbor2.dumps(forged), "signature does not verify")
    for what, (bad, expected) in cases.items():
        path = tmp_path / "bad.gkb"
        path.write_bytes(bad)
        gate = tmp_path / "gate"
        result = gk("provision", "--bundle", path, "--authority-fingerprint", fp, "--dir", gate, code=1)
        assert expected in result.stderr, what
        assert "Nothing was installed" in result.stderr, what
        assert tree(gate) == {}, what
    # the untouched bundle still installs
    gk("provision", "--bundle", bundle, "--authority-fingerprint", fp, "--dir", tmp_path / "gate", *NO_PI,
       "--no-selftest")


def test_a_bundle_needs_the_fingerprint_from_the_admin(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    bundle, made = write_bundle(tmp_path, hub, site, "gate-b4")
    result = gk("provision", "--bundle", bundle, "--dir", tmp_path / "gate", code=2)
    assert "--bundle needs --authority-fingerprint" in result.output
    result = gk("provision", "--bundle", bundle, "--authority-fingerprint", made["authority_fingerprint"][:12],
                "--dir", tmp_path / "gate", code=1)
    assert "at least the first 20 hex digits" in result.stderr
    assert tree(tmp_path / "gate") == {}


def test_lists_that_do_not_verify_install_nothing(tmp_path: Path, site: Site) -> None:
    """A bundle signed by the site authority but carrying another site's lists: refused at the lists,
    and the directory provisioning made is gone again."""
    other = Site.init(tmp_path / "other", scope="elm-row")
    data = make_bundle(site.authority, PrivateKey.generate(), "gate-b5", site.scope, site.name, "",
                       [other.trust_file().read_bytes()])
    path = tmp_path / "b5.gkb"
    path.write_bytes(data)
    gate = tmp_path / "new" / "gate"
    result = gk("provision", "--bundle", path, "--authority-fingerprint", fingerprint(site.authority_public),
                "--dir", gate, code=1)
    assert "a list from the bundle was refused: signed by key" in result.stderr
    assert not (tmp_path / "new").exists()
