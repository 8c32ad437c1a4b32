"""``gatekeeper hub enrol-qr`` rendered to an image, seen by a first-boot gate (``provision --scan``)."""

from __future__ import annotations

import io
from pathlib import Path

import base45
import cbor2
import cv2
import numpy as np
import pytest
import segno

from gatekeeper.admin.site import Site
from gatekeeper.gate.config import load_settings
from gatekeeper.gate.sync import load_device_key
from gatekeeper.scan.decoders import decode_file
from gatekeeper.verify import PrivateKey
from gatekeeper.verify.envelope import open_envelope
from gatekeeper.wire import (
    ENROL_QR_PREFIX,
    ProvisionError,
    fingerprint,
    make_bundle,
    parse_enrolment_qr,
)
from tests.kit.hub import HubProcess
from tests.kit.provision import gk, hub_devices, json_out, tree


def camera_frame(qr_png: bytes, side: int, angle: float, seed: int) -> np.ndarray:
    """A 640x480 grey frame as a gate camera sees a code held up: small, tilted, on a noisy scene."""
    rng = np.random.default_rng(seed)
    frame = rng.normal(110, 25, (480, 640)).clip(0, 255).astype(np.uint8)
    code = cv2.imdecode(np.frombuffer(qr_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    code = cv2.resize(code, (side, side), interpolation=cv2.INTER_AREA)
    y, x = (480 - side) // 2, (640 - side) // 2 + 40
    frame[y:y + side, x:x + side] = code
    turn = cv2.getRotationMatrix2D((x + side / 2, y + side / 2), angle, 1.0)
    return cv2.warpAffine(frame, turn, (640, 480), borderMode=cv2.BORDER_REPLICATE)


def png_of(text: str) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def edited(text: str, token: str) -> str:
    """The same QR with its token replaced and the original signature kept: what an edit leaves."""
    items = cbor2.loads(base45.b45decode(text[len(ENROL_QR_PREFIX):]))
    body = cbor2.loads(items[1])
    body["token"] = token
    items[1] = cbor2.dumps(body)
    return ENROL_QR_PREFIX + base45.b45encode(cbor2.dumps(items)).decode()


def enrol_qr(tmp_path: Path, hub: HubProcess, site: Site, gate_id: str) -> tuple[Path, str]:
    """Run ``gatekeeper hub enrol-qr`` as the admin would; the PNG it wrote and the QR's text."""
    png = tmp_path / "enrol.png"
    result = gk("hub", "enrol-qr", "--db", hub.db_url, "--site", site.root, "--hub-url", hub.url,
                "--gate-id", gate_id, "--png", png, "--svg", tmp_path / "enrol.svg")
    assert "\u2580" in result.stdout or "\u2584" in result.stdout  # drawn in the terminal too
    assert f"enrols gate {gate_id!r} at {hub.url}" in result.stdout
    assert "<svg" in (tmp_path / "enrol.svg").read_text()
    codes = decode_file(png)
    assert len(codes) == 1
    return png, codes[0].payload.decode()


def test_the_qr_carries_a_signed_enrolment(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    _, text = enrol_qr(tmp_path, hub, site, "gate-q0")
    qr = parse_enrolment_qr(text)
    assert (qr.hub_url, qr.gate_id, qr.authority.raw) == (hub.url, "gate-q0", site.authority_public.raw)
    assert qr.token.startswith("gk1_")
    assert fingerprint(site.authority_public)[:4] in gk("hub", "fingerprint", "--site", site.root).stdout


def test_a_first_boot_gate_enrols_itself_from_the_qr_it_sees(tmp_path: Path, hub: HubProcess, site: Site) -> None:
    png, text = enrol_qr(tmp_path, hub, site, "gate-q1")
    resident, _ = site.issue_pass(0, 2**31)
    frames = tmp_path / "camera"
    frames.mkdir()
    scene = [np.random.default_rng(1).normal(110, 25, (480, 640)).clip(0, 255).astype(np.uint8),  # nobody there
             camera_frame(png_of(resident), 260, -5, 2),                  # a resident's pass: not for enrolment
             camera_frame(png_of(edited(text, "gk1_stolen")), 360, 4, 3),  # an edited QR: signature fails
             camera_frame(png.read_bytes(), 360, 7, 4)]                    # the admin's QR, tilted
    for i, image in enumerate(scene):
        cv2.imwrite(str(frames / f"{i:02d}.png"), image)
    gate = tmp_path / "gate"

    out = json_out(gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate,
                      "--authority-fingerprint", fingerprint(site.authority_public), "--set", "gate.pin_factory=mock",
                      "--json"))

    settings = load_settings(gate / "gatekeeper.toml")
    assert settings.device.gate_id == "gate-q1" and settings.sync.hub_url == hub.url
    assert out["authority_fingerprint"] == fingerprint(site.authority_public)
    assert hub_devices(hub)[load_device_key(settings).kid.hex()]["gate_id"] == "gate-q1"
    assert [s["ok"] for s in out["selftest"]] == [True, True, True]


def test_no_valid_qr_in_view_writes_nothing_and_spends_nothing(tmp_path: Path, hub: HubProcess,
                                                                site: Site) -> None:
    _, text = enrol_qr(tmp_path, hub, site, "gate-q2")
    frames = tmp_path / "camera"
    frames.mkdir()
    cv2.imwrite(str(frames / "00.png"), camera_frame(png_of(edited(text, "gk1_other")), 360, 0, 5))
    gate = tmp_path / "gate"
    result = gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate, "--timeout", "10s",
                "--trust-on-first-use", code=1)
    assert "no valid enrolment QR seen" in result.stderr
    assert "enrolment QR refused: bad signature" in result.stderr
    assert tree(gate) == {}
    # the genuine QR's token is unspent: the same QR still enrols the gate
    cv2.imwrite(str(frames / "01.png"), camera_frame(png_of(text), 360, 0, 6))
    gk("provision", "--scan", "--camera", f"images:{frames}", "--dir", gate, "--set", "gate.pin_factory=mock",
       "--no-selftest", "--trust-on-first-use")
    assert load_settings(gate / "gatekeeper.toml").device.gate_id == "gate-q2"


def test_the_envelope_kind_keeps_a_bundle_from_passing_as_a_qr(site: Site) -> None:
    bundle = make_bundle(site.authority, PrivateKey.generate(), "g", site.scope, None, "", [])
    assert open_envelope(bundle).kind == "gk-bundle/1"
    with pytest.raises(ProvisionError, match="'gk-bundle/1' file, not an enrolment QR"):
        parse_enrolment_qr(ENROL_QR_PREFIX + base45.b45encode(bundle).decode())


def test_a_camera_that_will_not_open_is_named(tmp_path: Path) -> None:
    result = gk("provision", "--scan", "--camera", f"images:{tmp_path / 'nothing-here'}", "--dir", tmp_path / "gate",
                "--trust-on-first-use", code=1)
    assert "cannot open the camera to look for the enrolment QR" in result.stderr and "no such folder" in result.stderr
    assert tree(tmp_path / "gate") == {}
