"""``gatekeeper demo``: the whole system on this machine, no Pi (see :mod:`gatekeeper.demo`)."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli import main
from gatekeeper.cli.common import fail


@main.command("demo")
@click.option("--seconds", type=click.FloatRange(min=5), default=None,
              help="Stop after this many seconds even if the scene is not over (default: when it is, at most 120 s).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Work in this directory and keep it (default: a temporary one, removed at the end).")
@click.option("--keep", is_flag=True, help="Keep the temporary directory (site, hub database, gate config, logs).")
def demo(seconds: float | None, directory: Path | None, keep: bool) -> None:
    """Make a site, start a hub on loopback, provision a simulated gate and run it on a scripted scene."""
    from gatekeeper.cli.demorun import DemoError, run_demo
    try:
        code = run_demo(seconds, directory, keep)
    except DemoError as e:
        fail(f"demo: {e}")
    raise SystemExit(code)
