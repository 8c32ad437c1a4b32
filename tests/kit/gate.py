"""A real site, real passes and a folder of real frames for running the daemon end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from gatekeeper.admin.site import DAY, Site
from gatekeeper.scan.synthetic import Pose, render_scene

GATEKEEPER = [sys.executable, "-m", "gatekeeper"]

DEVICE_TOML = """\
[device]
gate_id = "test-gate"
scope = "{scope}"
store = "state/gatekeeper.db"
authority_key = "keys/authority.pub"

[camera]
source = "synthetic"
fps = 30

[gate]
pin_factory = "mock"
open_time = 0.5

[display]
port = 0
"""


def forge(text: str) -> str:
    """The same pass with one signature bit flipped: parses, but the signature fails."""
    import base45
    raw = bytearray(base45.b45decode(text[4:]))
    raw[-1] ^= 0x01
    return "GK1:" + base45.b45encode(bytes(raw)).decode()


def write_frames(folder: Path, script: list[tuple[str | None, int]]) -> int:
    """PNG frames for ``script`` (payload or None, count), as a camera at the gate would see them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    n = 0
    easy = Pose(scale=0.55, blur=0.5, noise=2.0)
    for payload, count in script:
        for _ in range(count):
            cv2.imwrite(str(folder / f"{n:05d}.png"), render_scene(payload, rng=rng, pose=easy))
            n += 1
    return n


class GateSite:
    """A site made by ``gatekeeper site init`` with a device config tuned for tests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        subprocess.run([*GATEKEEPER, "site", "init", str(root), "--scope", "maple-court"], check=True,
                       capture_output=True)
        (root / "gatekeeper.toml").write_text(DEVICE_TOML.format(scope="maple-court"))
        self.config = root / "gatekeeper.toml"
        self.site = Site.open(root)

    def issue(self, **kw: object) -> str:
        now = int(time.time())
        kw.setdefault("valid_from", now - DAY)
        kw.setdefault("valid_until", now + 30 * DAY)
        return self.site.issue_pass(**kw)[0]  # type: ignore[arg-type]

    def revoke(self, text: str) -> None:
        from gatekeeper.verify import EntryState, parse
        _, delta = self.site.revoke(parse(text).claims.pass_id, EntryState.REVOKED, int(time.time()) - 60)
        subprocess.run([*GATEKEEPER, "lists", "apply", "--config", str(self.config), str(delta)], check=True,
                       capture_output=True)


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
