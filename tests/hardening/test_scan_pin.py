"""``provision --scan`` honours ``--authority-fingerprint`` (issue 15 item 1): a QR made by
``hub enrol-qr`` for another site is refused; without a pin only ``--trust-on-first-use`` enrols."""

from __future__ import annotations

import time
from pathlib import Path

import cv2

from gatekeeper.admin.site import Site
from gatekeeper.gate.config import load_settings
from gatekeeper.hub.process import HubProcess
from gatekeeper.wire import fingerprint, show_fingerprint
from tests.kit.provision import gk, json_out, tree


def enrol_qr_frames(tmp_path: Path, hub: HubProcess, site: Site, gate_id: str, name: str) -> Path:
    """A camera folder holding the PNG ``gatekeeper hub enrol-qr`` wrote for ``site``."""
    frames = tmp_path / name
    frames.mkdir()
    gk("hub", "enrol-qr", "--db", hub.db_url, "--site", site.root, "--hub-url", hub.url, "--gate-id", gate_id,
       "--png", frames / "00.png", "--no-terminal")
    assert cv2.imread(str(frames / "00.png")) is not None
    return frames


def test_a_qr_for_another_site_is_refused_with_the_real_sites_fingerprint(tmp_path: Path, hub: HubProcess,
                                                                            site: Site) -> None:
    other = Site.init(tmp_path / "other", scope="elm-row", now=time.time() - 3600)
    rogue = HubProcess(str(tmp_path / "rogue.db"), other.root).start()
    try:
        frames = enrol_qr_frames(tmp_path, rogue, other, "gate-x", "camera")
        gate = tmp_path / "gate"
        result = gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate, "--timeout", "10s",
                    "--authority-fingerprint", fingerprint(site.authority_public)[:20],
                    "--set", "gate.pin_factory=mock", code=1)
    finally:
        rogue.stop()
    assert "no valid enrolment QR seen" in result.stderr
    assert show_fingerprint(other.authority_public) in result.stderr  # the key it refused, named
    assert tree(gate) == {}


def test_the_real_sites_qr_enrols_with_the_pin(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    frames = enrol_qr_frames(tmp_path, hub, site, "gate-p1", "camera")
    gate = tmp_path / "gate"
    result = gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate, "--no-selftest",
                "--authority-fingerprint", show_fingerprint(site.authority_public)[:24],
                "--set", "gate.pin_factory=mock")
    assert show_fingerprint(site.authority_public) in result.stdout
    assert "Compare this fingerprint" not in result.stdout  # pinned: nothing left to compare
    assert load_settings(gate / "gatekeeper.toml").device.gate_id == "gate-p1"


def test_scan_without_a_pin_is_refused_unless_trust_on_first_use(tmp_path: Path, hub: HubProcess,
                                                                 site: Site) -> None:
    frames = enrol_qr_frames(tmp_path, hub, site, "gate-t1", "camera")
    gate = tmp_path / "gate"
    refused = gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate, code=2)
    assert "--trust-on-first-use" in refused.stderr and "--authority-fingerprint" in refused.stderr
    assert tree(gate) == {}

    text = gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate, "--no-selftest",
              "--trust-on-first-use", "--set", "gate.pin_factory=mock")
    assert show_fingerprint(site.authority_public) in text.stdout
    assert "Compare this fingerprint" in text.stdout
    assert "trusted on first use" in text.stderr


def test_trust_on_first_use_goes_only_with_scan(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    frames = enrol_qr_frames(tmp_path, hub, site, "gate-t2", "camera")
    both = gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", tmp_path / "g",
              "--trust-on-first-use", "--authority-fingerprint", fingerprint(site.authority_public), code=2)
    assert "--trust-on-first-use goes only with --scan" in both.stderr
    out = json_out(gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", tmp_path / "g",
                      "--authority-fingerprint", fingerprint(site.authority_public), "--no-selftest",
                      "--set", "gate.pin_factory=mock", "--json"))
    assert out["authority_fingerprint"] == fingerprint(site.authority_public)
