"""Signing in and out, and the language switch."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.accounts import LOCK_S, SignInOutcome
from gatekeeper.hub.audit import AuditAction
from gatekeeper.hub.console.i18n import LANG_COOKIE
from gatekeeper.hub.console.web import (
    PREFIX,
    PageRefused,
    Viewer,
    back,
    client_address,
    field,
    form_of,
    language,
    render,
)
from gatekeeper.hub.sessions import COOKIE, CSRF_FIELD, IDLE_S, MAX_AGE_S, PRE_COOKIE, same_token

router = APIRouter()


def _safe_next(value: str) -> str:
    """Only a console path: the sign-in form must not send anyone to another site."""
    return value if value.startswith(f"{PREFIX}/") and not value.startswith("//") else f"{PREFIX}/units"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


@router.get("/")
async def home() -> RedirectResponse:
    return back("/units")


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "") -> Response:
    return _sign_in_form(request, next, "", None, 200)


def _sign_in_form(request: Request, next_url: str, username: str, error: str | None, status: int) -> Response:
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "signin.html", None, status=status, pre_csrf=pre, next=_safe_next(next_url),
                      username=username, error=error)
    _cookie(response, request, PRE_COOKIE, pre, IDLE_S)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    _ = language(request).gettext
    if not same_token(field(form, CSRF_FIELD), request.cookies.get(PRE_COOKIE)):
        raise PageRefused(403, "This form has expired or did not come from this console: reload the page and try "
                               "again.")
    username, password, next_url = field(form, "username").strip(), field(form, "password"), field(form, "next")
    address = client_address(request)
    wait = request.app.state.sign_in_limiter.allow(address)
    if wait:
        return _sign_in_form(request, next_url, username,
                             _("Too many sign-in attempts from your address: try again in %(s)d seconds.",
                               s=int(wait) + 1), 429)
    accounts, audit = request.app.state.accounts, request.app.state.audit
    result = await run_in_threadpool(accounts.sign_in, username, password)
    if result.outcome == SignInOutcome.OK:
        token, _csrf = await run_in_threadpool(request.app.state.sessions.create, username, address)
        await run_in_threadpool(audit.record, username, AuditAction.SIGN_IN, username, "", address)
        response = RedirectResponse(_safe_next(next_url), status_code=303)
        _cookie(response, request, COOKIE, token, MAX_AGE_S)
        response.delete_cookie(PRE_COOKIE, path="/")
        return response
    if result.just_locked:
        await run_in_threadpool(audit.record, username, AuditAction.ACCOUNT_LOCKED, username,
                                f"locked for {LOCK_S // 60} minutes after repeated failed sign-ins", address)
    else:
        await run_in_threadpool(audit.record, username[:64] or "-", AuditAction.SIGN_IN_FAILED, username[:64],
                                result.outcome.value, address)
    message = {
        SignInOutcome.WRONG: _("Wrong username or password."),
        SignInOutcome.LOCKED: _("This account is locked for %(m)d minutes after too many failed sign-ins.",
                                m=LOCK_S // 60),
        SignInOutcome.DISABLED: _("This account is disabled."),
    }[result.outcome]
    return _sign_in_form(request, next_url, username, message, 401 if result.outcome == SignInOutcome.WRONG else 403)


@router.post("/sign-out")
async def sign_out(request: Request, user: Viewer) -> Response:
    await form_of(request, user)
    await run_in_threadpool(request.app.state.sessions.end, request.cookies.get(COOKIE))
    await run_in_threadpool(request.app.state.audit.record, user.name, AuditAction.SIGN_OUT, user.name, "",
                            user.address)
    response = back("/sign-in")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str = "") -> Response:
    if code not in request.app.state.languages:
        raise PageRefused(404, "No such language.")
    target = next if next.startswith(f"{PREFIX}/sign-in") else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    _cookie(response, request, LANG_COOKIE, code, 365 * 86400)
    return response
