"""``gatekeeper pass ...``: issue, revoke and reinstate passes."""

from __future__ import annotations

import time
from pathlib import Path

import click
import segno

from ..atomicfile import write_atomic
from ..site import DAY, Site, SiteError
from ..verify import EntryState, PassFormatError, Status, parse
from ..verify.passes import PASS_ID_LEN
from . import main
from .common import fail, parse_time

SITE_OPTION = click.option("--site", "site_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                           help="The site directory (from 'gatekeeper site init').")


@main.group("pass")
def pass_group() -> None:
    """Issue, revoke and reinstate passes."""


def qr_of(text: str) -> segno.QRCode:
    """The pass's QR code: alphanumeric mode, error correction M at least."""
    return segno.make(text, error="m", micro=False)


@pass_group.command("issue")
@SITE_OPTION
@click.option("--valid-from", help="ISO 8601 (default: now).")
@click.option("--valid-until", help="ISO 8601 (default: 30 days after valid-from).")
@click.option("--scope", help="Where the pass opens (default: the site's scope).")
@click.option("--status", type=click.Choice(["green", "yellow", "red"]), default="green", show_default=True)
@click.option("--label", help="A short label such as a unit number (no names, no ID numbers).")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as PNG.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as SVG.")
def pass_issue(site_dir: Path, valid_from: str | None, valid_until: str | None, scope: str | None, status: str,
               label: str | None, png: Path | None, svg: Path | None) -> None:
    """Sign a pass and print its QR text as one line."""
    start = parse_time(valid_from, "--valid-from") if valid_from else time.time()
    end = parse_time(valid_until, "--valid-until") if valid_until else start + 30 * DAY
    try:
        text, _ = Site.open(site_dir).issue_pass(int(start), int(end), scope, Status[status.upper()], label)
    except SiteError as e:
        fail(str(e))
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    qr = qr_of(text)
    for path, kind in ((png, "png"), (svg, "svg")):
        if path is not None:
            import io
            buf = io.BytesIO()
            qr.save(buf, kind=kind, scale=8, border=4)
            write_atomic(path, buf.getvalue())
    click.echo(text)


def _pass_id(text: str | None, pass_id: str | None) -> bytes:
    if (text is None) == (pass_id is None):
        raise click.UsageError("give either PASS_TEXT or --pass-id, not both")
    if pass_id is not None:
        try:
            raw = bytes.fromhex(pass_id)
        except ValueError:
            raw = b""
        if len(raw) != PASS_ID_LEN:
            raise click.BadParameter(f"a pass id is {PASS_ID_LEN * 2} hex digits", param_hint="--pass-id")
        return raw
    try:
        return parse(text.strip()).claims.pass_id
    except PassFormatError as e:
        raise click.BadParameter(f"not a pass: {e}", param_hint="PASS_TEXT") from None


@pass_group.command("revoke")
@SITE_OPTION
@click.argument("pass_text", required=False)
@click.option("--pass-id", help="The pass id in hex, instead of the pass text.")
@click.option("--state", type=click.Choice(["revoked", "red", "yellow"]), default="revoked", show_default=True)
@click.option("--from", "since", help="ISO 8601 time the entry takes effect (default: now).")
def pass_revoke(site_dir: Path, pass_text: str | None, pass_id: str | None, state: str, since: str | None) -> None:
    """Revoke a pass (or turn it red/yellow) in a new signed revocation list version."""
    pid = _pass_id(pass_text, pass_id)
    at = parse_time(since, "--from") if since else time.time()
    try:
        full, delta = Site.open(site_dir).revoke(pid, EntryState[state.upper()], int(at))
    except SiteError as e:
        fail(str(e))
    click.echo(f"{state} {pid.hex()} from {int(at)}; wrote {full} and {delta}")


@pass_group.command("reinstate")
@SITE_OPTION
@click.argument("pass_text", required=False)
@click.option("--pass-id", help="The pass id in hex, instead of the pass text.")
def pass_reinstate(site_dir: Path, pass_text: str | None, pass_id: str | None) -> None:
    """Lift a pass's revocation entry in a new signed revocation list version."""
    pid = _pass_id(pass_text, pass_id)
    try:
        full, delta = Site.open(site_dir).lift(pid)
    except SiteError as e:
        fail(str(e))
    click.echo(f"reinstated {pid.hex()}; wrote {full} and {delta}")
