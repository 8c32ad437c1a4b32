"""``gatekeeper hub letters``: household letters, one A4 page per unit, each with a new code."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.atomicfile import write_atomic
from gatekeeper.cli.common import fail
from gatekeeper.cli.hub import DB_OPTION, _store, hub


@hub.command("letters")
@DB_OPTION
@click.option("--site", "site_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The site directory (its name heads each letter; the hub issues passes with it).")
@click.option("--unit", "units", multiple=True, metavar="NAME", help="A unit to print a letter for (repeatable).")
@click.option("--all", "all_units", is_flag=True, help="Every unit in the registry.")
@click.option("--base-url", required=True, metavar="URL",
              help="The hub's address as residents' phones reach it, e.g. https://hub.example.org.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write.")
def hub_letters(db_url: str, site_dir: Path, units: tuple[str, ...], all_units: bool, base_url: str,
                out: Path) -> None:
    """Write household letters: the unit's name, a QR of BASE-URL/r/<code>, the code to type, and
    instructions in Chinese and English.

    Each letter carries a NEW code: the unit's old letter stops working once this PDF is written.
    """
    if bool(units) == all_units:
        raise click.UsageError("give --unit NAME (one or more) or --all")
    try:
        from gatekeeper.hub import LetterError, check_base_url, issue_letters
    except ImportError as e:
        if e.name not in ("fpdf", "fontTools"):
            raise
        fail("letters need fpdf2, which is not installed: pip install 'gatekeeper[print]'")
    try:
        base_url = check_base_url(base_url)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--base-url") from None

    from gatekeeper.admin import Site, SiteError
    from gatekeeper.hub import Actor, AuditLog, Publisher, Registry, RegistryError, Residents, Source, load_catalogues
    try:
        site = Site.open(site_dir)
    except SiteError as e:
        fail(str(e))
    store = _store(db_url)
    try:
        audit = AuditLog(store.db)
        residents = Residents(store, Registry(store.db, Publisher(store, site), audit), audit)
        chosen = residents.all_units() if all_units else list(units)
        if not chosen:
            fail("the registry has no units: add them in the console or with POST /v1/admin/units")
        chinese = load_catalogues().get("zh_CN")
        n = issue_letters(residents, chosen, base_url, site.name, Actor("cli", "", Source.CLI),
                          chinese.gettext if chinese else str, lambda pdf: write_atomic(out, pdf))
    except RegistryError as e:
        fail(str(e))
    except LetterError as e:
        fail(str(e))
    finally:
        store.close()
    click.echo(f"wrote {n} letter{'s' if n != 1 else ''} to {out}; each unit's previous letter no longer works")
