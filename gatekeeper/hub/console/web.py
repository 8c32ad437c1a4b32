"""What every console page uses: who is signed in (and may they), rendering, forms with CSRF,
times in the site's zone. See gatekeeper/hub/console/__init__.py for how to add a page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from gatekeeper.hub.console.i18n import LANG_COOKIE, Language, choose
from gatekeeper.hub.registry import Actor, FieldProblem, Source
from gatekeeper.hub.roles import CHANGERS, Role
from gatekeeper.hub.sessions import COOKIE, CSRF_FIELD, same_token

TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "/console"
#: Strict: only the hub's own CSS and images; no script at all; no framing; forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)


class SignInRequired(Exception):
    """A page asked for without a live session: answered with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class PageRefused(Exception):
    """A page that says no (a role too small, a form without its CSRF token): an HTML page with
    ``status`` and a message (a catalogue msgid)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation: its path under /console, its label (a msgid), who sees it."""

    path: str
    label: str
    roles: frozenset[Role] = frozenset(Role)


#: The navigation, in order. A page module appends its entry when it is imported.
NAV: list[NavItem] = []


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in person as a page sees them."""

    name: str
    role: Role
    csrf: str
    lang: Language
    #: May change passes/units here: role admin or operator, and the hub can sign (--site).
    can_change: bool
    address: str

    @property
    def can_print(self) -> bool:
        """May see and print passes (QR, PNG, sheets): a pass's QR opens the gate, so not a viewer."""
        return self.role in CHANGERS

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def actor(self) -> Actor:
        return Actor(self.name, self.address, Source.CONSOLE)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def language(request: Request) -> Language:
    return choose(request.app.state.languages, request.cookies.get(LANG_COOKIE),
                  request.headers.get("accept-language"))


async def console_user(request: Request) -> ConsoleUser:
    """Dependency: the signed-in person; a redirect to the sign-in page when there is none."""
    session = await run_in_threadpool(request.app.state.sessions.get, request.cookies.get(COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    can_sign = request.app.state.registry.can_sign
    return ConsoleUser(session.username, session.role, session.csrf, language(request),
                       session.role in CHANGERS and can_sign, client_address(request))


def need(*roles: Role):
    """Dependency factory: the signed-in person when their role is one of ``roles``; 403 otherwise."""
    allowed = frozenset(roles)

    async def dependency(user: Annotated[ConsoleUser, Depends(console_user)]) -> ConsoleUser:
        if user.role not in allowed:
            raise PageRefused(403, "Your role may not do this.")
        return user

    return dependency


async def changer(user: Annotated[ConsoleUser, Depends(need(*CHANGERS))]) -> ConsoleUser:
    """Dependency: an admin or operator on a hub that can sign."""
    if not user.can_change:
        raise PageRefused(409, "This hub runs without the site directory (--site), so it cannot sign passes or "
                               "lists: the console is read-only here.")
    return user


Viewer = Annotated[ConsoleUser, Depends(console_user)]
#: A list page's number (bounded: a page past the end is empty, one past any integer a database holds is refused).
PageNumber = Annotated[int, Query(ge=1, le=10**6)]
#: Admin or operator, also on a hub that cannot sign: may show and print the passes it holds.
Printer = Annotated[ConsoleUser, Depends(need(*CHANGERS))]
Changer = Annotated[ConsoleUser, Depends(changer)]
AdminUser = Annotated[ConsoleUser, Depends(need(Role.ADMIN))]


async def form_of(request: Request, user: ConsoleUser) -> FormData:
    """The posted form, after checking its CSRF token against the session's (403 otherwise)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not same_token(sent if isinstance(sent, str) else None, user.csrf):
        raise PageRefused(403, "This form has expired or did not come from this console: reload the page and try "
                               "again.")
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- time -----------------------------------------------------------------------------------------
def site_zone(request: Request) -> ZoneInfo:
    return request.app.state.site_zone


def show_time(ts: float | None, zone: ZoneInfo, seconds: bool = False) -> str:
    """A Unix time as the site's wall clock, ``2026-12-01 08:00``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def input_time(ts: float | None, zone: ZoneInfo) -> str:
    """A Unix time as a ``datetime-local`` input's value in the site's zone."""
    return "" if ts is None else datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%dT%H:%M")


def parse_input_time(value: str, zone: ZoneInfo, name: str) -> tuple[int | None, list[FieldProblem]]:
    """A ``datetime-local`` value (site zone) as Unix seconds; None when empty."""
    value = value.strip()
    if not value:
        return None, []
    try:
        return int(datetime.fromisoformat(value).replace(tzinfo=zone).timestamp()), []
    except ValueError:
        return None, [FieldProblem(name, "A date and time such as 2026-12-01 08:00.")]


# --- rendering ------------------------------------------------------------------------------------
def url(path: str, **query: Any) -> str:
    """A console URL with a query string (None values left out)."""
    q = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{PREFIX}{path}" + (f"?{urlencode(q, doseq=True)}" if q else "")


def render(request: Request, template: str, user: ConsoleUser | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    """A page: ``template`` with the user, their language (``_``), the nav and the site's time."""
    lang = user.lang if user else language(request)
    zone = site_zone(request)
    registry = request.app.state.registry
    nav = [n for n in NAV if user and user.role in n.roles]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = env.get_template(template).render(
        request=request, user=user, lang=lang, languages=request.app.state.languages.values(), nav=nav,
        here=here, here_quoted=quote(here, safe=""), prefix=PREFIX, csrf_field=CSRF_FIELD,
        _=lang.gettext, problem=lambda p: lang.gettext(p.message, **p.params),
        when=lambda ts, seconds=False: show_time(ts, zone, seconds), zone=zone.key, url=url,
        read_only=not registry.can_sign, now=time.time(), **context)
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)


def back(path: str, **query: Any) -> RedirectResponse:
    """After a change: see the result (post/redirect/get)."""
    return RedirectResponse(url(path, **query), status_code=303)


def secure_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response
