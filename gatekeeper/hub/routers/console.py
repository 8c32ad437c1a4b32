"""The console's place in the hub: its state (accounts, sessions, audit log, registry, languages,
the site's time zone), its pages under /console and their static files, and its error pages."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from gatekeeper.hub.accounts import Accounts
from gatekeeper.hub.audit import AuditLog
from gatekeeper.hub.console import PREFIX, console_router
from gatekeeper.hub.console.i18n import load_catalogues
from gatekeeper.hub.console.web import PageRefused, SignInRequired, render, url
from gatekeeper.hub.publisher import Publisher
from gatekeeper.hub.registry import Registry
from gatekeeper.hub.sessions import Sessions, SignInLimiter
from gatekeeper.hub.store import HubStore

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
_ZONE_KEY = "site_timezone"


def site_zone(store: HubStore, publisher: Publisher) -> ZoneInfo:
    """The site's time zone: the site's own when this hub has it, else the one a hub with the
    site remembered in the database, else UTC."""
    if publisher.site is not None:
        with store.db.transaction() as tx:
            store.set_meta(tx, _ZONE_KEY, publisher.site.zone.key)
        return publisher.site.zone
    return ZoneInfo(store.meta(_ZONE_KEY) or "UTC")


def install(app: FastAPI, store: HubStore, publisher: Publisher) -> None:
    """Open the console's tables and mount its pages on ``app``."""
    s = app.state
    s.audit = AuditLog(store.db)
    s.accounts = Accounts(store.db)
    s.sessions = Sessions(store.db)
    s.registry = Registry(store.db, publisher, s.audit)
    s.sign_in_limiter = SignInLimiter()
    s.languages = load_catalogues()
    s.site_zone = site_zone(store, publisher)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(console_router())

    @app.exception_handler(SignInRequired)
    async def sign_in_first(_: Request, e: SignInRequired) -> RedirectResponse:
        return RedirectResponse(url("/sign-in", next=e.next_url), status_code=303)

    @app.exception_handler(PageRefused)
    async def refused_page(request: Request, e: PageRefused) -> HTMLResponse:
        return render(request, "refused.html", None, status=e.status, message=e.message)
