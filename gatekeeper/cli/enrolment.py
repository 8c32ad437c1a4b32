"""``gatekeeper hub bundle|enrol-qr|fingerprint``: the admin's side of provisioning a gate.

They sit on the ``hub`` group (gatekeeper/cli/hub.py) but live here: they need the site's
authority key as well as the hub's database, and share the formats of :mod:`gatekeeper.wire` (the
bundle and the enrolment QR).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from gatekeeper.atomicfile import write_atomic
from gatekeeper.cli.common import emit_json, fail, iso
from gatekeeper.cli.hub import DB_OPTION, _seconds, _store, hub

SITE_OPTION = click.option("--site", "site_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                           help="The site directory: its authority key signs what this writes.")


def _site(site_dir: Path):
    from gatekeeper.admin import Site, SiteError
    try:
        site = Site.open(site_dir)
        site.authority  # noqa: B018 -- fail here, before a token or a device is made, when the key is unusable
    except SiteError as e:
        fail(str(e))
    return site


def _defaults(path: Path | None, gate_id: str, scope: str, hub_url: str) -> dict:
    """Site defaults from a configuration fragment, validated as the device will load them."""
    if path is None:
        return {}
    import tomllib

    from gatekeeper.gate import ConfigError, ProvisionError, device_config, load_settings
    try:
        load_settings(path)
        defaults = tomllib.loads(path.read_text(encoding="utf-8"))
        device_config(gate_id, scope, hub_url, defaults, {})
    except (ConfigError, ProvisionError) as e:
        fail(f"--defaults: {e}")
    return defaults


@hub.command("bundle")
@DB_OPTION
@SITE_OPTION
@click.option("--gate-id", required=True, metavar="NAME", help="The gate this bundle provisions.")
@click.option("--hub-url", default="", metavar="URL",
              help="The hub URL the gate will sync with once it has a network (omit: no sync).")
@click.option("--defaults", "defaults_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A configuration fragment (TOML sections, e.g. [policy] and [gate]) for the gate.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to write the bundle (e.g. on a USB stick).")
@click.option("--json", "as_json", is_flag=True)
def hub_bundle(db_url: str, site_dir: Path, gate_id: str, hub_url: str, defaults_path: Path | None, out: Path,
               as_json: bool) -> None:
    """Write an offline provisioning bundle for one gate: its device key (registered at the hub now),
    the site's signed lists and defaults, signed by the site authority.

    It holds the gate's private key: carry it to the gate, run 'gatekeeper provision --bundle FILE
    --authority-fingerprint HEX' there, then delete it.
    """
    from gatekeeper.gate import DeviceSettings
    from gatekeeper.hub import RefusedError
    from gatekeeper.verify import PrivateKey
    from gatekeeper.wire import make_bundle, show_fingerprint
    try:
        DeviceSettings(gate_id=gate_id)
    except ValueError:
        fail(f"--gate-id {gate_id!r}: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit")
    site = _site(site_dir)
    defaults = _defaults(defaults_path, gate_id, site.scope, hub_url)
    key = PrivateKey.generate()
    data = make_bundle(site.authority, key, gate_id, site.scope, site.name, hub_url,
                       [site.trust_file().read_bytes(), site.revocation_file().read_bytes()], defaults)
    write_atomic(out, data, mode=0o600)  # it holds a private key
    try:
        dev = _store(db_url).register_device(key.public, gate_id)
    except RefusedError as e:
        out.unlink(missing_ok=True)
        fail(e.message)
    fp = show_fingerprint(site.authority_public)
    if as_json:
        emit_json({"bundle": str(out), "gate_id": gate_id, "device_id": dev.device_id,
                   "authority_fingerprint": fp.replace(" ", "")})
        return
    click.echo(f"wrote {out} for gate {gate_id!r} (device {dev.device_id}, registered at the hub)")
    click.echo(f"authority fingerprint: {fp}")
    click.echo(f"on the gate: gatekeeper provision --bundle {out.name} --authority-fingerprint "
               f"\"{' '.join(fp.split()[:5])}\"")
    click.echo("the bundle holds the gate's private key: delete it from the stick once the gate is provisioned",
               err=True)


@hub.command("enrol-qr")
@DB_OPTION
@SITE_OPTION
@click.option("--hub-url", required=True, metavar="URL", help="The hub URL as the gate will reach it.")
@click.option("--gate-id", required=True, metavar="NAME", help="The gate the QR enrols.")
@click.option("--ttl", default="1h", show_default=True, help="How long the QR's one-time token stays valid.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as PNG.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as SVG.")
@click.option("--no-terminal", is_flag=True, help="Do not draw the QR in the terminal.")
def hub_enrol_qr(db_url: str, site_dir: Path, hub_url: str, gate_id: str, ttl: str, png: Path | None,
                 svg: Path | None, no_terminal: bool) -> None:
    """Show an enrolment QR (hub URL, one-time token, gate id, signed by the site authority): a gate in
    its first-boot state ('gatekeeper provision --scan') that sees it enrols itself."""
    import io

    import segno

    from gatekeeper.wire import EnrolmentQR, show_fingerprint
    seconds = _seconds(ttl, "--ttl")
    site = _site(site_dir)
    token = _store(db_url).create_enrol_token(gate_id, seconds)
    text = EnrolmentQR(hub_url, token, gate_id, site.authority_public).text(site.authority)
    qr = segno.make(text, error="m", micro=False)
    for path, kind in ((png, "png"), (svg, "svg")):
        if path is not None:
            buf = io.BytesIO()
            qr.save(buf, kind=kind, scale=8, border=4)
            write_atomic(path, buf.getvalue(), mode=0o600)  # the token in it enrols a gate
            click.echo(f"wrote {path}", err=True)
    if not no_terminal:
        qr.terminal(compact=True)
    click.echo(f"enrols gate {gate_id!r} at {hub_url}; one-time, valid until {iso(time.time() + seconds)}")
    click.echo(f"authority fingerprint: {show_fingerprint(site.authority_public)}")


@hub.command("fingerprint")
@SITE_OPTION
def hub_fingerprint(site_dir: Path) -> None:
    """Print the site authority key's fingerprint, to compare with what a gate shows at provisioning."""
    from gatekeeper.wire import show_fingerprint
    click.echo(show_fingerprint(_site(site_dir).authority_public))
