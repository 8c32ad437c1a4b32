"""``gatekeeper pass print``: an A4 PDF sheet of passes for residents without smartphones."""

from __future__ import annotations

import time
from pathlib import Path

import click

from gatekeeper.admin import Site, SiteError, append_ledger, ledger_entry
from gatekeeper.atomicfile import write_atomic
from gatekeeper.cli.common import fail
from gatekeeper.cli.passes import (
    VALID_FROM_HELP,
    VALID_UNTIL_HELP,
    check_site_or_hub,
    hub_request,
    pass_group,
    pass_window,
    qr_of,
    site_or_hub,
)
from gatekeeper.isotime import local_iso
from gatekeeper.verify import Clock, PassClaims, PassFormatError, Policy, Reason, Status, decide, parse

#: A sheet is for one block or one building at a time; a typo like ``--count 5000`` should not
#: sign thousands of passes and a 600-page PDF.
MAX_PASSES = 400
ISSUE_OPTIONS = ("--count", "--label", "--labels-file", "--valid-from", "--valid-until", "--scope", "--status")


@pass_group.command("print")
@site_or_hub
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF to write (A4, eight passes a page).")
@click.option("--count", type=click.IntRange(1, MAX_PASSES),
              help="How many new passes to issue (default: one per label, or 1).")
@click.option("--label", "labels", multiple=True,
              help="A label for one new pass, such as a unit number (repeatable; no names, no ID numbers).")
@click.option("--labels-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labels, one a line (blank lines and lines starting with # are skipped).")
@click.option("--valid-from", help=VALID_FROM_HELP)
@click.option("--valid-until", help=VALID_UNTIL_HELP)
@click.option("--scope", help="Where the passes open (default: the site's scope).")
@click.option("--status", type=click.Choice(["green", "yellow", "red"]), help="Default: green.")
@click.option("--text", "texts", multiple=True,
              help="Print this already-issued pass text instead of issuing new ones (repeatable).")
@click.option("--unit", help="With --site: the unit the new passes belong to (recorded in the site's ledger). "
                             "With --hub: print that unit's active passes from the hub's registry.")
def pass_print(site_dir: Path | None, hub_url: str | None, admin_token: str | None, unit: str | None, out: Path,
               count: int | None, labels: tuple[str, ...], labels_file: Path | None,
               valid_from: str | None, valid_until: str | None, scope: str | None, status: str | None,
               texts: tuple[str, ...]) -> None:
    """Issue passes (or take issued ones with --text) and write them as a printable A4 PDF.

    Prints one line per pass: its id (for 'gatekeeper pass revoke --pass-id') and its label.
    With --hub URL --admin-token T --unit U: the unit's active passes from the hub's registry.
    """
    check_site_or_hub(site_dir, hub_url)
    try:
        # fpdf2 is an optional extra: the gate device never prints, so it need not carry it.
        from gatekeeper.admin import PER_PAGE, SheetPass, render_sheet
    except ImportError as e:
        if e.name != "fpdf":
            raise
        fail("printing passes needs fpdf2, which is not installed: pip install 'gatekeeper[print]'")
    if hub_url:
        if not unit or texts or count or labels or labels_file or valid_from or valid_until or scope or status:
            raise click.UsageError("with --hub give only --unit: the sheet holds that unit's active passes")
        _write_sheet(out, _hub_passes(hub_url, admin_token, unit), render_sheet, PER_PAGE)
        return
    try:
        site = Site.open(site_dir)
    except SiteError as e:
        fail(str(e))

    if texts:
        given = [opt for opt, v in zip(ISSUE_OPTIONS, (count, labels, labels_file, valid_from, valid_until,
                                                       scope, status), strict=True) if v]
        if given:
            raise click.UsageError(f"--text prints passes already issued; it does not go with {', '.join(given)}")
        passes = [(t, _checked_claims(site, t, i)) for i, t in enumerate(texts, 1)]
        now = time.time()
        for _, c in passes:
            if c.valid_until < now:
                click.echo(f"gatekeeper: warning: pass {c.pass_id.hex()} expired on "
                           f"{local_iso(c.valid_until, site.zone)}", err=True)
    else:
        all_labels = list(labels) + (_read_labels(labels_file) if labels_file else [])
        if all_labels and count is not None and count != len(all_labels):
            raise click.UsageError(f"--count {count} does not match the {len(all_labels)} labels given; "
                                   f"give one or the other")
        if len(all_labels) > MAX_PASSES:
            raise click.UsageError(f"{len(all_labels)} labels: at most {MAX_PASSES} passes a sheet")
        wanted: list[str | None] = list(all_labels) if all_labels else [None] * (count or 1)
        start, end = pass_window(valid_from, valid_until, site.zone)
        colour = Status[(status or "green").upper()]
        passes = []
        try:
            for label in wanted:
                passes.append(site.issue_pass(start, end, scope, colour, label))
        except SiteError as e:
            fail(str(e))
        except ValueError as e:
            about = f" (label {label!r})" if label and "label" in str(e) else ""
            raise click.UsageError(f"{e}{about}") from None
        append_ledger(site.root, [ledger_entry(t, c, unit) for t, c in passes])
    _write_sheet(out, [SheetPass(t, c, site.name, site.zone) for t, c in passes], render_sheet, PER_PAGE)


def _hub_passes(hub_url: str, admin_token: str | None, unit: str) -> list:
    """The unit's active passes on the hub, as sheet entries (the site named by the passes' scope)."""
    from gatekeeper.admin import SheetPass
    from gatekeeper.isotime import machine_zone, zone_named
    rows = hub_request(hub_url, admin_token, "GET", "/v1/admin/passes",
                       params={"unit": unit, "state": "active", "limit": MAX_PASSES})
    if not rows:
        fail(f"the hub holds no active passes of unit {unit!r}; nothing written")
    zone = zone_named(machine_zone())
    return [SheetPass(r["text"], (c := parse(r["text"]).claims), c.scope, zone) for r in rows]


def _write_sheet(out: Path, sheet: list, render_sheet, per_page: int) -> None:
    try:
        pdf = render_sheet(sheet, qr_of)
    except ValueError as e:
        fail(f"cannot print: {e}")
    try:
        write_atomic(out, pdf)
    except OSError as e:
        fail(f"{out}: cannot write the sheet: {e.strerror or e}")
    for p in sheet:
        click.echo(f"{p.claims.pass_id.hex()}  {p.claims.label or '-'}")
    pages = -(-len(sheet) // per_page)
    click.echo(f"wrote {len(sheet)} passes on {pages} A4 page{'s' if pages > 1 else ''} to {out}", err=True)


def _checked_claims(site: Site, text: str, n: int) -> PassClaims:
    """The claims of an issued pass text, refusing one that is malformed, or not signed by an
    issuer this site trusts: a tampered pass on paper would only be turned away at the gate."""
    where = f"--text #{n}"
    text = text.strip()
    try:
        claims = parse(text).claims
    except PassFormatError as e:
        fail(f"{where} is not a pass ({e}); nothing written")
    try:
        trust = site.trust_list()
    except SiteError as e:
        fail(str(e))
    # The gate's own decision says whether the issuer is trusted and the signature holds; the other
    # reasons (expired, out of scope...) are the gate's business, not the printer's.
    reason = decide(text, trust, Policy(claims.scope), Clock(time.time())).reason
    if reason is Reason.UNKNOWN_ISSUER:
        fail(f"{where}: its issuer key {claims.kid.hex()} is not in site {site.name}'s trust list; nothing written")
    if reason is Reason.BAD_SIGNATURE:
        fail(f"{where}: the signature does not match (altered or damaged text); nothing written")
    return claims


def _read_labels(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise click.BadParameter(f"{path}: cannot read: {e}", param_hint="--labels-file") from None
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]
