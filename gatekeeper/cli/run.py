"""``gatekeeper run`` and ``gatekeeper selftest``: the daemon and its start-up check."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli import main
from gatekeeper.cli.common import fail
from gatekeeper.cli.lists import CONFIG_OPTION
from gatekeeper.gate import ConfigError


@main.command("run")
@CONFIG_OPTION
@click.option("--source", "source_spec", metavar="SPEC",
              help="Override the camera: picamera2, opencv:0 (or a device path or RTSP URL), video:PATH, "
                   "images:DIR, synthetic.")
@click.option("--events", type=click.Choice(["json"]), default=None,
              help="json: one JSON line per event on stdout (decision, gate, manual).")
@click.option("--exit-when-done", is_flag=True,
              help="With an image-folder or video-file source: exit 0 once the last frame is decided "
                   "and the gate is closed again.")
def run(config_path: Path, source_spec: str | None, events: str | None, exit_when_done: bool) -> None:
    """Run the gate: scan, decide, log, open. SIGTERM/SIGINT stop it; SIGHUP reloads the policy."""
    import logging
    import sys

    from gatekeeper.gate import DaemonOptions, run_daemon

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = run_daemon(config_path, DaemonOptions(source_spec=source_spec, exit_when_done=exit_when_done),
                          events_json=events == "json")
    except (ConfigError, ValueError, OSError, RuntimeError) as e:
        fail(f"cannot start the gate: {e}")
    raise SystemExit(code)


@main.command("selftest")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per step.")
def selftest(config_path: Path, as_json: bool) -> None:
    """Grab a frame, decode it, click the relay, cycle the LEDs and beep; say what worked."""
    from gatekeeper.cli.common import emit_json
    from gatekeeper.gate import load_settings, run_selftest

    try:
        settings = load_settings(config_path)
    except ConfigError as e:
        fail(str(e))
    results = run_selftest(settings)
    for r in results:
        if as_json:
            emit_json({"step": r.name, "ok": r.ok, "detail": r.detail})
        else:
            click.echo(f"{'PASS' if r.ok else 'FAIL'} {r.name:7} {r.detail}")
    raise SystemExit(0 if all(r.ok for r in results) else 1)
