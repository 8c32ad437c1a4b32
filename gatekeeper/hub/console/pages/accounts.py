"""Accounts (admins only): list, add, disable, enable, reset a password, change a role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.accounts import AccountError
from gatekeeper.hub.audit import AuditAction
from gatekeeper.hub.console.web import NAV, AdminUser, NavItem, back, field, form_of, render
from gatekeeper.hub.roles import Role

router = APIRouter()
NAV.append(NavItem("/accounts", "Accounts", frozenset({Role.ADMIN})))


@router.get("/accounts")
async def accounts_page(request: Request, user: AdminUser, done: str = "") -> Response:
    return await _page(request, user, done)


async def _page(request: Request, user, done: str = "", error: AccountError | None = None,
                form: dict | None = None) -> Response:
    accounts = await run_in_threadpool(request.app.state.accounts.all)
    notices = {"added": "Account added.", "changed": "Account changed."}
    return render(request, "accounts.html", user, status=422 if error else 200, accounts=accounts,
                  roles=list(Role), error=error, form=form or {},
                  notice=user.lang.gettext(notices[done]) if done in notices else None)


@router.post("/accounts")
async def add_account(request: Request, user: AdminUser) -> Response:
    form = await form_of(request, user)
    username, role = field(form, "username").strip(), field(form, "role")
    try:
        if role not in Role._value2member_map_:
            raise AccountError("role", "Choose admin, operator or viewer.")
        await run_in_threadpool(request.app.state.accounts.add, username, Role(role), field(form, "password"))
    except AccountError as e:
        return await _page(request, user, error=e, form={"username": username, "role": role})
    await run_in_threadpool(request.app.state.audit.record, user.name, AuditAction.ACCOUNT_ADD, username,
                            f"role {role}", user.address)
    return back("/accounts", done="added")


@router.post("/accounts/change")
async def change_account(request: Request, user: AdminUser) -> Response:
    form = await form_of(request, user)
    username, what = field(form, "username"), field(form, "what")
    accounts, sessions, audit = request.app.state.accounts, request.app.state.sessions, request.app.state.audit
    try:
        if what in ("disable", "enable"):
            if username == user.name:
                raise AccountError("username", "You cannot disable your own account.")
            await run_in_threadpool(accounts.set_disabled, username, what == "disable")
            await run_in_threadpool(sessions.end_all, username)
            action, detail = AuditAction.ACCOUNT_DISABLE, what
        elif what == "password":
            await run_in_threadpool(accounts.set_password, username, field(form, "password"))
            await run_in_threadpool(sessions.end_all, username)
            action, detail = AuditAction.ACCOUNT_PASSWORD, "password set (and lock lifted)"
        elif what == "role" and field(form, "role") in Role._value2member_map_:
            await run_in_threadpool(accounts.set_role, username, Role(field(form, "role")))
            action, detail = AuditAction.ACCOUNT_ROLE, f"role {field(form, 'role')}"
        else:
            raise AccountError("what", "No such change.")
    except AccountError as e:
        return await _page(request, user, error=e)
    await run_in_threadpool(audit.record, user.name, action, username, detail, user.address)
    return back("/accounts", done="changed")
