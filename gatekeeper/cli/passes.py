"""``gatekeeper pass ...``: issue, revoke and reinstate passes."""

from __future__ import annotations

import time
from datetime import tzinfo
from pathlib import Path

import click
import segno

from gatekeeper.admin import DAY, Site, SiteError
from gatekeeper.atomicfile import write_atomic
from gatekeeper.cli import main
from gatekeeper.cli.common import fail, parse_time
from gatekeeper.isotime import local_iso, machine_zone, zone_named
from gatekeeper.verify import PASS_ID_LEN, EntryState, PassFormatError, Status, parse

SITE_OPTION = click.option("--site", "site_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                           help="The site directory (from 'gatekeeper site init').")


@main.group("pass")
def pass_group() -> None:
    """Issue, revoke and reinstate passes."""


def qr_of(text: str) -> segno.QRCode:
    """The pass's QR code: alphanumeric mode, error correction M at least."""
    return segno.make(text, error="m", micro=False)


#: The help of --valid-from and --valid-until, shared by 'pass issue' and 'pass print'.
VALID_FROM_HELP = ("A date (its start) or an ISO 8601 time; without an offset, in the site's time zone "
                   "(site.toml 'timezone'). Default: now.")
VALID_UNTIL_HELP = ("A date (through its last second: 2026-12-31 ends at 23:59:59 that day) or an ISO 8601 time; "
                    "without an offset, in the site's time zone. Default: 30 days after valid-from.")


def pass_window(valid_from: str | None, valid_until: str | None, zone: tzinfo) -> tuple[int, int]:
    """The --valid-from/--valid-until window in the site's ``zone``, as Unix seconds. A window that
    is already over is allowed (a pass made for a test, or to be revoked at once) with a warning; one
    that ends before it starts cannot be signed (the pass format refuses it) and is a usage error."""
    now = time.time()
    start = parse_time(valid_from, "--valid-from", zone) if valid_from else now
    end = parse_time(valid_until, "--valid-until", zone, end_of_day=True) if valid_until else start + 30 * DAY
    if end < start:
        raise click.UsageError(f"the window is empty: --valid-until {local_iso(end, zone)} is before --valid-from "
                               f"{local_iso(start, zone)}")
    if end < now:
        click.echo(f"gatekeeper: warning: the window is already over (it ended {local_iso(end, zone)}): no gate "
                   "will open for it", err=True)
    return int(start), int(end)


@pass_group.command("issue")
@SITE_OPTION
@click.option("--valid-from", help=VALID_FROM_HELP)
@click.option("--valid-until", help=VALID_UNTIL_HELP)
@click.option("--scope", help="Where the pass opens (default: the site's scope).")
@click.option("--status", type=click.Choice(["green", "yellow", "red"]), default="green", show_default=True)
@click.option("--label", help="A short label such as a unit number (no names, no ID numbers).")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as PNG.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as SVG.")
def pass_issue(site_dir: Path, valid_from: str | None, valid_until: str | None, scope: str | None, status: str,
               label: str | None, png: Path | None, svg: Path | None) -> None:
    """Sign a pass and print its QR text as one line (quote it with single quotes in a shell: see README)."""
    try:
        site = Site.open(site_dir)
        start, end = pass_window(valid_from, valid_until, site.zone)
        text, _ = site.issue_pass(start, end, scope, Status[status.upper()], label)
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
    if text == "-":  # from standard input: no shell quoting to get wrong
        text = click.get_text_stream("stdin").readline().rstrip("\r\n")
    try:
        return parse(text.strip()).claims.pass_id
    except PassFormatError as e:
        raise click.BadParameter(f"not a pass: {e} (pasted into a shell? quote it with single quotes, or give - and "
                                 "paste it on standard input)", param_hint="PASS_TEXT") from None


SITE_OR_HUB_OPTIONS = (
    click.option("--site", "site_dir", type=click.Path(file_okay=False, path_type=Path),
                 help="The site directory (from 'gatekeeper site init')."),
    click.option("--hub", "hub_url", envvar="GATEKEEPER_HUB_URL",
                 help="Make the change on this hub (the one started with --site) instead of a site directory."),
    click.option("--admin-token", envvar="GATEKEEPER_ADMIN_TOKEN",
                 help="The hub's admin token ('gatekeeper hub admin-token'); or set GATEKEEPER_ADMIN_TOKEN."),
)


def site_or_hub(fn):
    """The --site / --hub / --admin-token options of a command that changes the revocation list."""
    for option in reversed(SITE_OR_HUB_OPTIONS):
        fn = option(fn)
    return fn


def _on_hub(hub_url: str, admin_token: str | None, method: str, path: str, body: dict | None = None) -> int:
    """One admin request to the hub; the new revocation list version, or a command failure."""
    import httpx
    if not admin_token:
        fail("--hub needs --admin-token (or GATEKEEPER_ADMIN_TOKEN)")
    try:
        reply = httpx.request(method, hub_url.rstrip("/") + path, json=body, timeout=30,
                              headers={"Authorization": f"Bearer {admin_token}"})
    except httpx.HTTPError as e:
        fail(f"hub {hub_url} unreachable: {e}")
    if reply.status_code != 200:
        try:
            problem = reply.json()
            detail = f"{problem.get('error')}: {problem.get('message')}"
        except ValueError:
            detail = reply.text[:200]
        fail(f"hub refused ({reply.status_code} {detail})")
    return int(reply.json()["version"])


def _where(site_dir: Path | None, hub_url: str | None) -> None:
    if (site_dir is None) == (hub_url is None):
        raise click.UsageError("give exactly one of --site DIR or --hub URL")


@pass_group.command("revoke")
@site_or_hub
@click.argument("pass_text", required=False, metavar="[PASS_TEXT|-]")
@click.option("--pass-id", help="The pass id in hex, instead of the pass text.")
@click.option("--state", type=click.Choice(["revoked", "red", "yellow"]), default="revoked", show_default=True)
@click.option("--from", "since", help="When the entry takes effect: an ISO 8601 time, without an offset in the "
                                      "site's time zone (with --hub: this machine's). Default: now.")
def pass_revoke(site_dir: Path | None, hub_url: str | None, admin_token: str | None, pass_text: str | None,
                pass_id: str | None, state: str, since: str | None) -> None:
    """Revoke a pass (or turn it red/yellow) in a new signed revocation list version.

    With --site the list files are written to the site directory (copy them to the hub or the
    gates); with --hub the hub makes and publishes the version, and gates learn it on their next poll.
    """
    _where(site_dir, hub_url)
    pid = _pass_id(pass_text, pass_id)
    try:
        site = Site.open(site_dir) if site_dir else None
    except SiteError as e:
        fail(str(e))
    zone = site.zone if site else zone_named(machine_zone())
    at = int(parse_time(since, "--from", zone) if since else time.time())
    if site is None:
        v = _on_hub(hub_url, admin_token, "POST", "/v1/admin/revocations",
                    {"pass_id": pid.hex(), "state": state, "since": at})
        click.echo(f"{state} {pid.hex()} from {local_iso(at, zone)}; hub published revocation list v{v}")
        return
    try:
        full, delta = site.revoke(pid, EntryState[state.upper()], at)
    except SiteError as e:
        fail(str(e))
    click.echo(f"{state} {pid.hex()} from {local_iso(at, zone)}; wrote {full} and {delta}")


@pass_group.command("reinstate")
@site_or_hub
@click.argument("pass_text", required=False)
@click.option("--pass-id", help="The pass id in hex, instead of the pass text.")
def pass_reinstate(site_dir: Path | None, hub_url: str | None, admin_token: str | None, pass_text: str | None,
                   pass_id: str | None) -> None:
    """Lift a pass's revocation entry in a new signed revocation list version (--site or --hub)."""
    _where(site_dir, hub_url)
    pid = _pass_id(pass_text, pass_id)
    if hub_url:
        v = _on_hub(hub_url, admin_token, "DELETE", f"/v1/admin/revocations/{pid.hex()}")
        click.echo(f"reinstated {pid.hex()}; hub published revocation list v{v}")
        return
    try:
        full, delta = Site.open(site_dir).lift(pid)
    except SiteError as e:
        fail(str(e))
    click.echo(f"reinstated {pid.hex()}; wrote {full} and {delta}")
