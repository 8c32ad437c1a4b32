"""``gatekeeper site ...``: make and manage a site (authority, issuers, lists)."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.admin import Site, SiteError
from gatekeeper.atomicfile import write_toml
from gatekeeper.cli import main
from gatekeeper.cli.common import fail
from gatekeeper.gate import Store
from gatekeeper.verify import ListError

DEVICE_HEADER = """Device configuration made by 'gatekeeper site init' for trying the site out.
Every key is documented in config/gatekeeper.example.toml. pin_factory "mock" is gpiozero's
MockFactory: no Pi needed."""


def device_config(scope: str, timezone: str) -> dict:
    """The trial device's configuration: the site's scope and time zone, a synthetic camera, mock pins."""
    return {"device": {"gate_id": "demo-gate", "scope": scope, "store": "state/gatekeeper.db",
                       "authority_key": "keys/authority.pub", "device_key": "keys/device.key"},
            "camera": {"source": "synthetic"}, "gate": {"pin_factory": "mock"},
            "display": {"port": 8080, "timezone": timezone}}


@main.group()
def site() -> None:
    """Make and manage a site: keys, trust list, revocation list."""


@site.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scope", default="demo", show_default=True, help="The site's scope (e.g. maple-court).")
@click.option("--name", default=None, help="A display name for the site.")
@click.option("--timezone", default=None, metavar="ZONE",
              help="The site's time zone, e.g. Asia/Shanghai: what typed dates mean and how times are shown "
                   "(default: this machine's). Kept in site.toml as 'timezone'.")
def site_init(directory: Path, scope: str, name: str | None, timezone: str | None) -> None:
    """Make a self-contained site in DIRECTORY, with a device configuration that uses it."""
    try:
        s = Site.init(directory, scope=scope, name=name, timezone=timezone)
    except (SiteError, ValueError) as e:
        fail(str(e))
    write_toml(directory / "gatekeeper.toml", device_config(scope, s.timezone), DEVICE_HEADER)
    with Store(directory / "state" / "gatekeeper.db", s.authority_public) as store:
        try:
            for f in (s.trust_file(), s.revocation_file()):
                store.apply_list(f.read_bytes())
        except ListError as e:
            fail(f"could not apply the site's first lists: {e}")
    click.echo(f"Made site '{s.name}' (scope {s.scope}, time zone {s.timezone}) in {directory}:")
    for what, path in [
        ("authority key (keep secret)", "keys/authority.key"),
        ("issuer key (keep secret)", f"keys/issuer-{s.issuer_kid}.key"),
        ("signed trust list", s.trust_file().relative_to(directory)),
        ("signed revocation list", s.revocation_file().relative_to(directory)),
        ("device configuration", "gatekeeper.toml"),
        ("device store (lists applied)", "state/gatekeeper.db"),
    ]:
        click.echo(f"  {what:30} {directory / path}")
    click.echo(f"Next: gatekeeper pass issue --site {directory} --label A-101")


@site.command("rotate-issuer")
@click.option("--site", "site_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--overlap-days", type=float, default=None,
              help="End the old key's window this many days from now (default: keep its window).")
def site_rotate(site_dir: Path, overlap_days: float | None) -> None:
    """Roll the issuer key over: a new key and a new trust list. Old passes stay valid in the old window."""
    try:
        s = Site.open(site_dir)
        kid, path = s.rotate_issuer(overlap_days)
    except SiteError as e:
        fail(str(e))
    click.echo(f"New issuer key {kid}; new trust list {path}")
    click.echo(f"Apply it on each device: gatekeeper lists apply --config CONFIG {path}")


@site.command("rotate-authority")
@click.option("--site", "site_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.confirmation_option(prompt="Replace the site's authority? Every gate must then be provisioned again and "
                                  "every pass issued again")
def site_rotate_authority(site_dir: Path) -> None:
    """Replace a lost or stolen authority key: a new authority and issuer, new lists signed by it.

    Every old pass is refused once a gate trusts the new authority; every gate must be provisioned
    again with the new fingerprint. The runbook is in docs/operations.md.
    """
    from gatekeeper.wire import show_fingerprint
    try:
        r = Site.open(site_dir).rotate_authority()
    except SiteError as e:
        fail(str(e))
    click.echo(f"New authority key, fingerprint {show_fingerprint(r.authority)}")
    for what, path in [("trust list (the new issuer only)", r.trust_file),
                       ("revocation list (empty)", r.revocation_file), ("old keys moved to", r.retired)]:
        click.echo(f"  {what:34} {path}")
    click.echo("Next (docs/operations.md, 'The authority key is lost or stolen'): restart the hub with --site "
               f"{site_dir}; provision every gate again with --force --authority-fingerprint and the new "
               "fingerprint; issue every pass again.")
