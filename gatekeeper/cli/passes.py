"""``gatekeeper pass ...``: issue, revoke and reinstate passes."""

from __future__ import annotations

import time
from datetime import tzinfo
from pathlib import Path

import click
import segno

from gatekeeper.admin import DAY, Site, SiteError, append_ledger, ledger_entry, read_ledger
from gatekeeper.atomicfile import write_atomic
from gatekeeper.cli import main
from gatekeeper.cli.common import emit_json, fail, parse_time
from gatekeeper.isotime import local_iso, machine_zone, zone_named
from gatekeeper.verify import PASS_ID_LEN, EntryState, PassFormatError, Status, parse

UNIT_OPTION = click.option("--unit", help="The unit (household) the pass belongs to: its name in the hub's registry.")
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


@pass_group.command("issue")
@site_or_hub
@click.option("--valid-from", help=VALID_FROM_HELP)
@click.option("--valid-until", help=VALID_UNTIL_HELP)
@click.option("--scope", help="Where the pass opens (default: the site's scope).")
@click.option("--status", type=click.Choice(["green", "yellow", "red"]), default="green", show_default=True)
@click.option("--label", help="A short label such as a unit number (no names, no ID numbers).")
@UNIT_OPTION
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as PNG.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as SVG.")
def pass_issue(site_dir: Path | None, hub_url: str | None, admin_token: str | None, valid_from: str | None,
               valid_until: str | None, scope: str | None, status: str, label: str | None, unit: str | None,
               png: Path | None, svg: Path | None) -> None:
    """Sign a pass and print its QR text as one line (quote it with single quotes in a shell: see README).

    With --site the pass is signed here and recorded in the site's ledger (a hub started with the
    site takes it into its registry); with --hub the hub issues it for --unit, within its quota.
    """
    check_site_or_hub(site_dir, hub_url)
    if hub_url:
        if not unit or label or scope:
            raise click.UsageError("with --hub give --unit (the pass takes the unit's label and the site's scope)")
        start, end = pass_window(valid_from, valid_until, zone_named(machine_zone()))
        (issued,) = hub_request(hub_url, admin_token, "POST", "/v1/admin/passes",
                                {"unit": unit, "count": 1, "valid_from": start, "valid_until": end, "status": status})
        text = issued["text"]
    else:
        try:
            site = Site.open(site_dir)
            start, end = pass_window(valid_from, valid_until, site.zone)
            text, claims = site.issue_pass(start, end, scope, Status[status.upper()], label)
            append_ledger(site.root, [ledger_entry(text, claims, unit)])
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


def hub_request(hub_url: str, admin_token: str | None, method: str, path: str, body: dict | None = None,
                params: dict | None = None) -> dict | list:
    """One admin request to the hub; its JSON answer, or a command failure naming the refusal."""
    import httpx
    if not admin_token:
        fail("--hub needs --admin-token (or GATEKEEPER_ADMIN_TOKEN)")
    try:
        reply = httpx.request(method, hub_url.rstrip("/") + path, json=body, params=params, timeout=60,
                              headers={"Authorization": f"Bearer {admin_token}"})
    except httpx.HTTPError as e:
        fail(f"hub {hub_url} unreachable: {e}")
    if reply.status_code not in (200, 201):
        try:
            problem = reply.json()
            detail = f"{problem.get('error')}: {problem.get('message')}"
        except ValueError:
            detail = reply.text[:200]
        fail(f"hub refused ({reply.status_code} {detail})")
    return reply.json()


def _on_hub(hub_url: str, admin_token: str | None, method: str, path: str, body: dict | None = None) -> int:
    """One admin change on the hub; the new revocation list version."""
    return int(hub_request(hub_url, admin_token, method, path, body)["version"])


def check_site_or_hub(site_dir: Path | None, hub_url: str | None) -> None:
    if (site_dir is None) == (hub_url is None):
        raise click.UsageError("give exactly one of --site DIR or --hub URL")


@pass_group.command("revoke")
@site_or_hub
@click.argument("pass_text", required=False, metavar="[PASS_TEXT|-]")
@click.option("--pass-id", help="The pass id in hex, instead of the pass text.")
@click.option("--label", help="The label of the pass, looked up in the registry (the hub's, or the site's ledger): "
                              "no pass to paste into a shell.")
@click.option("--state", type=click.Choice(["revoked", "red", "yellow"]), default="revoked", show_default=True)
@click.option("--from", "since", help="When the entry takes effect: an ISO 8601 time, without an offset in the "
                                      "site's time zone (with --hub: this machine's). Default: now.")
def pass_revoke(site_dir: Path | None, hub_url: str | None, admin_token: str | None, pass_text: str | None,
                pass_id: str | None, label: str | None, state: str, since: str | None) -> None:
    """Revoke a pass (or turn it red/yellow) in a new signed revocation list version.

    With --site the list files are written to the site directory (copy them to the hub or the
    gates); with --hub the hub makes and publishes the version, and gates learn it on their next poll.
    """
    check_site_or_hub(site_dir, hub_url)
    if label is not None and (pass_text or pass_id):
        raise click.UsageError("give the pass as one of PASS_TEXT, --pass-id or --label")
    pid = pass_id_of_label(site_dir, hub_url, admin_token, label) if label is not None else _pass_id(pass_text, pass_id)
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
    check_site_or_hub(site_dir, hub_url)
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


def registry_rows(site_dir: Path | None, hub_url: str | None, admin_token: str | None,
                  unit: str | None = None) -> tuple[list[dict], tzinfo]:
    """The passes of the registry (the hub's, or the site's ledger) with their states, and the zone to show them in."""
    if hub_url:
        rows = hub_request(hub_url, admin_token, "GET", "/v1/admin/passes",
                           params={"limit": 5000, **({"unit": unit} if unit else {})})
        return rows, zone_named(machine_zone())
    try:
        site = Site.open(site_dir)
        states = {pid.hex(): (EntryState(state).name.lower(), since)
                  for pid, state, since in site.revocations().iter_entries()}
    except SiteError as e:
        fail(str(e))
    rows = []
    for e in read_ledger(site.root):
        if unit and e.unit != unit:
            continue
        state, since = states.get(e.pass_id, ("active", None))
        rows.append({"pass_id": e.pass_id, "unit": e.unit, "label": e.label, "valid_from": e.valid_from,
                     "valid_until": e.valid_until, "status": e.status, "state": state, "state_since": since,
                     "issued_at": e.issued_at, "text": e.text})
    return rows, site.zone


def pass_id_of_label(site_dir: Path | None, hub_url: str | None, admin_token: str | None, label: str) -> bytes:
    """The one active pass with ``label`` in the registry; a usage error naming the candidates otherwise."""
    rows, _ = registry_rows(site_dir, hub_url, admin_token)
    found = [r for r in rows if r.get("label") == label and r.get("state") == "active"]
    if len(found) != 1:
        where = "hub's registry" if hub_url else "site's ledger"
        if not found:
            raise click.UsageError(f"--label {label!r}: no active pass with that label in the {where}")
        ids = ", ".join(r["pass_id"] for r in found)
        raise click.UsageError(f"--label {label!r}: {len(found)} active passes have that label ({ids}): "
                               "name one with --pass-id")
    return bytes.fromhex(found[0]["pass_id"])


@pass_group.command("list")
@site_or_hub
@click.option("--unit", help="Only this unit's passes (its name).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pass.")
def pass_list(site_dir: Path | None, hub_url: str | None, admin_token: str | None, unit: str | None,
              as_json: bool) -> None:
    """List passes: the hub's registry (--hub), or the passes issued here and recorded in the site's
    ledger (--site), each with its state from the newest revocation list."""
    check_site_or_hub(site_dir, hub_url)
    rows, zone = registry_rows(site_dir, hub_url, admin_token, unit)
    for r in rows:
        if as_json:
            emit_json(r)
        else:
            click.echo(f"{r['pass_id']}  {r['state']:8} {r.get('unit') or '-':20} {r.get('label') or '-':14} "
                       f"until {local_iso(r['valid_until'], zone)}")
