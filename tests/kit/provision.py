"""Helpers for provisioning tests: the CLI in-process, tokens, the hub's view of devices, file trees."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner, Result

from gatekeeper.cli import main
from gatekeeper.hub.store import HubStore
from tests.kit.hub import HubProcess

#: A gate with no Pi: synthetic camera scenes and gpiozero's MockFactory pins.
NO_PI = ("--set", "camera.source=synthetic", "--set", "gate.pin_factory=mock")


def gk(*args: object, code: int | None = 0) -> Result:
    """Run ``gatekeeper ARGS`` in-process; check the exit status when ``code`` is given."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}"
    return result


def json_out(result: Result) -> dict:
    return json.loads(result.stdout)


def token(hub: HubProcess, gate_id: str | None = None) -> str:
    return gk("hub", "token", "--db", hub.db_url, *(("--gate-id", gate_id) if gate_id else ())).stdout.strip()


def hub_devices(hub: HubProcess) -> dict[str, dict]:
    store = HubStore.open(hub.db_url)
    try:
        return {d["device_id"]: d for d in store.devices()}
    finally:
        store.close()


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes (empty when it does not exist)."""
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
