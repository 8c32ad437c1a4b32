"""``gatekeeper provision``: make this machine a gate, from a hub token, an enrolment QR or a bundle."""

from __future__ import annotations

import sys
import tomllib
from contextlib import nullcontext
from pathlib import Path

import click

from gatekeeper.cli import main
from gatekeeper.cli.common import emit_json, fail
from gatekeeper.gate import load_settings
from gatekeeper.isotime import parse_duration

#: Exit status when the device was provisioned but a self-test step failed (see docs/provisioning.md).
EXIT_SELFTEST_FAILED = 3


def parse_set(items: tuple[str, ...]) -> dict:
    """``--set section.key=value`` options as overrides; the value is read as TOML, else as a string."""
    out: dict = {}
    for item in items:
        name, eq, raw = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not eq or not dot or not section or not key:
            raise click.BadParameter(f"{item!r}: expected SECTION.KEY=VALUE, e.g. camera.source=opencv:0",
                                     param_hint="--set")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare word such as opencv:0 is meant as a string
        out.setdefault(section, {})[key] = value
    return out


def _mode(hub_url: str | None, token: str | None, gate_id: str | None, bundle: Path | None, scan: bool) -> str:
    online = hub_url is not None or token is not None
    if sum((online, bundle is not None, scan)) != 1:
        raise click.UsageError("choose one way: --hub URL --token TOKEN --gate-id NAME, or --bundle FILE, "
                               "or --scan")
    if online and not (hub_url and token and gate_id):
        raise click.UsageError("online provisioning needs all of --hub URL, --token TOKEN and --gate-id NAME")
    if not online and gate_id:
        raise click.UsageError("--gate-id goes with --hub/--token: a bundle or an enrolment QR names its gate")
    return "online" if online else "bundle" if bundle is not None else "scan"


def _report(p, as_json: bool, pinned: bool) -> None:
    from gatekeeper.gate import load_authority
    from gatekeeper.wire import show_fingerprint
    if as_json:
        emit_json(p.to_json())
        return
    settings = load_settings(p.config)
    d = settings.device
    authority = load_authority(settings)
    click.echo(f"Provisioned gate {p.gate_id!r} (device {p.device_id}) for site {p.site_name or p.scope!r}, "
               f"scope {p.scope}")
    for what, value in [("configuration", p.config), ("device key (0600)", settings.path(d.device_key)),
                        ("authority key", settings.path(d.authority_key)),
                        ("store", f"{settings.path(d.store)} ({', '.join(p.lists)})"),
                        ("hub", p.hub_url or "(none: no upload, no list updates)")]:
        click.echo(f"  {what:18} {value}")
    click.echo(f"  {'authority':18} {show_fingerprint(authority)}")
    if not pinned:
        click.echo("  Compare this fingerprint with the one 'gatekeeper hub fingerprint' shows the admin; if they "
                   "differ, do not use this device.")
    if p.replaced:
        click.echo(f"  the previous device's files were moved to {p.replaced}")
    if p.selftest:
        click.echo("Self-test:")
        for c in p.selftest:
            click.echo(f"  {'PASS' if c.ok else 'FAIL'} {c.name:7} {c.detail}")
    click.echo(f"Next: gatekeeper run --config {p.config}")


@main.command("provision")
@click.option("--hub", "hub_url", metavar="URL", help="The hub's base URL (online, with --token and --gate-id).")
@click.option("--token", metavar="TOKEN", help="A one-time enrolment token from 'gatekeeper hub token'.")
@click.option("--gate-id", metavar="NAME", help="This gate's name (letters, digits, _ . -).")
@click.option("--bundle", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Install from an offline bundle made by 'gatekeeper hub bundle' (no network).")
@click.option("--scan", is_flag=True, help="First boot: read an enrolment QR ('gatekeeper hub enrol-qr') "
                                           "through the camera and enrol with it.")
@click.option("--camera", "camera_spec", metavar="SPEC",
              help="This gate's camera (written as camera.source; --scan reads the QR from it): picamera2 "
                   "(the default), opencv:0, images:DIR, ...")
@click.option("--timeout", default="5m", show_default=True, help="--scan: how long to look for the QR.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default="/etc/gatekeeper",
              show_default=True, help="Where the configuration, keys and store are written.")
@click.option("--authority-fingerprint", metavar="HEX",
              help="The site authority key's fingerprint (at least its first 20 hex digits): required with "
                   "--bundle and with --scan (unless --trust-on-first-use); with --hub, refuses a hub that names "
                   "another authority.")
@click.option("--trust-on-first-use", is_flag=True,
              help="--scan without a fingerprint: trust the authority named by the first valid enrolment QR "
                   "seen. Whoever shows a QR first owns the gate; compare the fingerprint printed after.")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE",
              help="A configuration value to write, e.g. gate.relay_pin=5 (repeatable).")
@click.option("--force", is_flag=True, help="Replace a device already provisioned in --dir (its files are "
                                            "moved aside, not deleted).")
@click.option("--owner", metavar="USER", help="The account the daemon runs as (e.g. gatekeeper): it gets the "
                                            "device key and the store. Needed when provisioning as root.")
@click.option("--no-selftest", is_flag=True, help="Skip the self-test after provisioning.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object; no progress.")
def provision(hub_url: str | None, token: str | None, gate_id: str | None, bundle: Path | None, scan: bool,
              camera_spec: str | None, timeout: str, directory: Path, authority_fingerprint: str | None,
              trust_on_first_use: bool, sets: tuple[str, ...], force: bool, owner: str | None, no_selftest: bool,
              as_json: bool) -> None:
    """Make this machine a gate: a device key, enrolment, the signed lists, the configuration, a self-test.

    \b
    gatekeeper provision --hub URL --token TOKEN --gate-id NAME [--dir DIR]
    gatekeeper provision --bundle FILE --authority-fingerprint HEX [--dir DIR]
    gatekeeper provision --scan --authority-fingerprint HEX [--camera SPEC] [--dir DIR]
    """
    from gatekeeper.gate import (
        AuthorityPin,
        ProvisionError,
        merge,
        provision_bundle,
        provision_online,
        provision_scan,
    )

    mode = _mode(hub_url, token, gate_id, bundle, scan)
    overrides = merge({"camera": {"source": camera_spec}} if camera_spec else {}, parse_set(sets))
    if mode == "bundle" and not authority_fingerprint:
        raise click.UsageError("--bundle needs --authority-fingerprint HEX: the device checks the bundle against "
                               "the fingerprint 'gatekeeper hub bundle' printed (a bundle could be swapped on the "
                               "stick; the fingerprint you type cannot)")
    if mode == "scan" and not authority_fingerprint and not trust_on_first_use:
        raise click.UsageError("--scan needs --authority-fingerprint HEX ('gatekeeper hub fingerprint' on the "
                               "admin's machine): an enrolment QR names its own authority, so without the pin "
                               "anyone who shows a QR first owns the gate. To accept that risk, give "
                               "--trust-on-first-use and compare the fingerprint printed after.")
    if trust_on_first_use and (mode != "scan" or authority_fingerprint):
        raise click.UsageError("--trust-on-first-use goes only with --scan and without --authority-fingerprint")
    status = None
    if not as_json and sys.stderr.isatty():
        from rich.console import Console
        status = Console(stderr=True).status("provisioning")

    def progress(step: str) -> None:
        if status is not None:
            status.update(step)
        elif not as_json:
            click.echo(f"... {step}", err=True)

    common = {"force": force, "selftest": not no_selftest, "owner": owner, "progress": progress}
    try:
        pin = AuthorityPin.of_text(authority_fingerprint) if authority_fingerprint else None
        with status or nullcontext():
            if mode == "online":
                result = provision_online(hub_url, token, gate_id, directory, overrides, authority=pin, **common)
            elif mode == "bundle":
                try:
                    data = bundle.read_bytes()
                except OSError as e:
                    raise ProvisionError(f"{bundle}: cannot read the bundle: {e.strerror}") from None
                result = provision_bundle(data, directory, pin, overrides, **common)
            else:
                from gatekeeper.scan import open_source
                try:
                    seconds = parse_duration(timeout)
                    source = open_source(camera_spec or "picamera2", fps=10.0)
                except ValueError as e:
                    raise click.BadParameter(str(e)) from None
                result = provision_scan(source, directory, overrides, timeout=seconds, authority=pin,
                                        trust_on_first_use=trust_on_first_use, **common)
    except ProvisionError as e:
        fail(str(e))
    _report(result, as_json, pinned=pin is not None)
    if not result.selftest_ok:
        click.echo(f"gatekeeper: provisioned, but the self-test failed: fix what it names and run "
                   f"'gatekeeper selftest --config {result.config}'", err=True)
        raise SystemExit(EXIT_SELFTEST_FAILED)
