"""Errors a newcomer meets (issue 15 item 11): one line saying what to set, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.kit.gate import GATEKEEPER, GateSite, write_frames


def run(site: GateSite, frames: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEKEEPER, "run", "--config", str(site.config), "--source", f"images:{frames}",
                           "--exit-when-done"], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(Path("/dev/gpiochip0").exists() or "GPIOZERO_PIN_FACTORY" in os.environ,
                    reason="this machine has GPIO: the default pin factory loads")
def test_no_gpio_and_no_mock_pins_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    site.config.write_text(site.config.read_text().replace('pin_factory = "mock"', 'pin_factory = "default"'))
    write_frames(tmp_path / "frames", [(None, 2)])
    proc = run(site, tmp_path / "frames")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        'gatekeeper: cannot start the gate: no GPIO on this machine (gpiozero found no pin factory): on a '
        'Raspberry Pi install python3-lgpio; anywhere else set gate.pin_factory = "mock" in the configuration'
    ]


def test_a_busy_display_port_names_the_port_and_the_setting(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    write_frames(tmp_path / "frames", [(None, 2)])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        site.config.write_text(site.config.read_text().replace("port = 0", f"port = {port}"))
        proc = run(site, tmp_path / "frames")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gatekeeper: cannot start the gate: the display's port")
    assert f"port {port} on 127.0.0.1 is already in use" in last and "display.port" in last
    assert str(site.config) in last and "Errno" not in proc.stderr


def test_reapplying_the_current_list_says_it_is_already_applied(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    proc = subprocess.run([*GATEKEEPER, "lists", "apply", "--config", str(site.config),
                           str(site.site.revocation_file())], capture_output=True, text=True)
    assert "revocation list version 1 is already applied" in proc.stderr
    assert "rollback" not in proc.stderr
