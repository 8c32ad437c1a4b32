"""``gatekeeper lists ...``: apply signed lists to the device store, show what is cached."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli import main
from gatekeeper.cli.common import emit_json, fail, iso
from gatekeeper.gate import Checkpoint, ConfigError
from gatekeeper.verify import ListError

CONFIG_OPTION = click.option("--config", "config_path", required=True,
                             type=click.Path(dir_okay=False, path_type=Path), help="The device configuration.")


def open_checkpoint(config_path: Path) -> Checkpoint:
    """The device's checkpoint, or end the command with the configuration problem."""
    try:
        return Checkpoint.from_config(config_path)
    except (ConfigError, ValueError, RuntimeError) as e:
        fail(str(e))


@main.group("lists")
def lists_group() -> None:
    """Apply and inspect the cached trust and revocation lists."""


@lists_group.command("apply")
@CONFIG_OPTION
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def lists_apply(config_path: Path, files: tuple[Path, ...]) -> None:
    """Verify and apply signed list files (trust or revocation, full or delta), in the order given."""
    cp = open_checkpoint(config_path)
    try:
        for f in files:
            try:
                data = f.read_bytes()
            except OSError as e:
                fail(f"{f}: cannot read: {e.strerror}")
            try:
                r = cp.store.apply_list(data)
            except ListError as e:
                fail(f"{f}: refused: {e}")
            extra = f", {r.lifted} lifted" if r.lifted else ""
            click.echo(f"{f}: applied {r.kind} version {r.version} ({r.entries} entries{extra})")
    finally:
        cp.close()


@lists_group.command("status")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def lists_status(config_path: Path, as_json: bool) -> None:
    """Show the cached list versions, ages and the time floor."""
    cp = open_checkpoint(config_path)
    s = cp.store.list_status()
    clock = cp.clock()
    age = None if s.revocation_checked_at is None else clock.now - s.revocation_checked_at
    out = {"trust_version": s.trust_version, "revocation_version": s.revocation_version,
           "revocation_entries": s.revocation_entries, "revocation_issued_at": iso(s.revocation_issued_at),
           "list_age_s": age, "stale": age is None or age > cp.policy.max_list_age_s,
           "time_floor": iso(s.time_floor), "clock_trusted": clock.trusted}
    cp.close()
    if as_json:
        emit_json(out)
    else:
        for k, v in out.items():
            click.echo(f"{k:22} {v}")
