"""Helpers for the residents' tests and benchmark: a real hub with a site, units through the admin
API, household letters through the CLI, a real gate (an enrolled device with its updater), and the
QR codes read back with the project's decoder."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from gatekeeper.gate import Updater
from gatekeeper.gate.checkpoint import Checkpoint
from gatekeeper.hub.process import HubProcess
from gatekeeper.hub.store import HubStore
from gatekeeper.scan import decode_file
from gatekeeper.verify import Reason
from tests.kit.hub import enrolled_device

PHONE = {"width": 375, "height": 667}


def admin_token(hub: HubProcess) -> str:
    store = HubStore.open(hub.db_url)
    try:
        return store.create_admin_token("tests")
    finally:
        store.close()


def add_unit(hub: HubProcess, token: str, name: str, label: str, quota: int) -> None:
    r = httpx.post(f"{hub.url}/v1/admin/units", json={"name": name, "label": label, "quota": quota},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 201, r.text


def letters(hub: HubProcess, site_dir: Path, out: Path, *units: str) -> subprocess.CompletedProcess:
    """``gatekeeper hub letters`` for ``units`` (none: ``--all``), with the hub's own URL."""
    which = [a for u in units for a in ("--unit", u)] or ["--all"]
    return subprocess.run([sys.executable, "-m", "gatekeeper", "hub", "letters", "--db", hub.db_url,
                           "--site", str(site_dir), *which, "--base-url", hub.url, "--out", str(out)],
                          capture_output=True, text=True, check=False)


def read_codes(image: Path) -> list[str]:
    """The QR payloads in an image, as text, read by the project's decoder."""
    return [c.payload.decode() if isinstance(c.payload, bytes) else c.payload for c in decode_file(image)]


def letter_links(pdf: Path, workdir: Path) -> list[str]:
    """The link on each page of a letters PDF: pages rendered by pdftoppm, QRs read back."""
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(workdir / "page")], check=True)
    links = []
    for page in sorted(workdir.glob("page-*.png")):
        (link,) = read_codes(page)
        links.append(link)
    return links


@dataclass
class Gate:
    """A real gate's decisions: an enrolled device, its updater polling the hub, its checkpoint."""

    updater: Updater
    checkpoint: Checkpoint

    @classmethod
    def enrolled(cls, tmp_path: Path, site, hub: HubProcess) -> Gate:
        dev = enrolled_device(tmp_path, site, hub)
        return cls(Updater(*dev.sync_args()), Checkpoint(dev.settings, dev.store()))

    def poll(self) -> None:
        """One poll of the hub, as the gate does on its timer."""
        self.updater.poll_once()

    def decide(self, text: str) -> Reason:
        return self.checkpoint.decide(text).reason

    def close(self) -> None:
        self.checkpoint.close()
        self.updater.close()


