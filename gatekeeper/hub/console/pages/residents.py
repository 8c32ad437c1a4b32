"""Residents' self-service, the office's side: the approval queue, the site's setting (passes at
once or after approval), freezing a unit's self-service, and household letters (one unit or all)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.console.web import (
    NAV,
    AdminUser,
    Changer,
    NavItem,
    PageRefused,
    Viewer,
    back,
    field,
    form_of,
    render,
)
from gatekeeper.hub.registry import RegistryError
from gatekeeper.hub.residents import Mode

router = APIRouter()
NAV.append(NavItem("/residents", "Residents"))
DONE = {"approved": "Approved: the pass shows on the household's page.", "refused": "Refused.",
        "frozen": "Self-service paused for %(unit)s.", "resumed": "Self-service resumed for %(unit)s.",
        "mode": "Setting saved."}


@router.get("/residents")
async def residents_page(request: Request, user: Viewer, done: str = "", unit: str = "") -> Response:
    return await _page(request, user, done, unit)


async def _page(request: Request, user, done: str = "", unit: str = "", problems: list | None = None,
                status: int = 200) -> Response:
    res = request.app.state.residents
    waiting = await run_in_threadpool(res.waiting)
    frozen = await run_in_threadpool(res.frozen_units)
    notice = user.lang.gettext(DONE[done], unit=unit) if done in DONE else None
    return render(request, "residents.html", user, status=status, waiting=waiting, frozen=frozen,
                  mode=await run_in_threadpool(res.mode), notice=notice, problems=problems or [],
                  base_url=str(request.base_url).rstrip("/"))


@router.post("/residents/mode")
async def set_mode(request: Request, user: AdminUser) -> Response:
    form = await form_of(request, user)
    try:
        mode = Mode(field(form, "mode"))
    except ValueError:
        raise PageRefused(422, "Choose at once or after approval.") from None
    await run_in_threadpool(request.app.state.residents.set_mode, mode, user.actor())
    return back("/residents", done="mode")


@router.post("/residents/requests/{request_id}/{decision}")
async def decide(request: Request, user: Changer, request_id: str, decision: str) -> Response:
    await form_of(request, user)  # the CSRF check
    res = request.app.state.residents
    if decision not in ("approve", "refuse"):
        raise PageRefused(404, "No such page.")
    try:
        if decision == "approve":
            await run_in_threadpool(res.approve, request_id, user.actor())
        else:
            await run_in_threadpool(res.refuse, request_id, user.actor())
    except RegistryError as e:
        return await _page(request, user, problems=e.problems, status=409)
    return back("/residents", done="approved" if decision == "approve" else "refused")


@router.post("/residents/freeze")
async def freeze(request: Request, user: Changer) -> Response:
    form = await form_of(request, user)
    unit, frozen = field(form, "unit").strip(), field(form, "frozen") == "1"
    try:
        await run_in_threadpool(request.app.state.residents.set_frozen, unit, frozen, user.actor())
    except RegistryError as e:
        return await _page(request, user, problems=e.problems, status=422)
    return back("/residents", done="frozen" if frozen else "resumed", unit=unit)


@router.post("/residents/letters")
async def letters(request: Request, user: Changer) -> Response:
    """The letters' PDF as a download: one unit's (named in the form) or every unit's. Each
    carries a new code, so the units' previous letters stop working."""
    from gatekeeper.hub.letters import LetterError, check_base_url, issue_letters
    form = await form_of(request, user)
    res = request.app.state.residents
    unit = field(form, "unit").strip()
    units = [unit] if unit else await run_in_threadpool(res.all_units)
    try:
        base_url = check_base_url(field(form, "base_url") or str(request.base_url))
    except ValueError:
        raise PageRefused(422, "The hub's address must start with http:// or https://.") from None
    pdf: list[bytes] = []
    chinese = request.app.state.languages.get("zh_CN")
    site = request.app.state.publisher.site
    try:
        await run_in_threadpool(issue_letters, res, units, base_url, site.name if site else "",
                                user.actor(), chinese.gettext if chinese else str, pdf.append)
    except RegistryError as e:
        return await _page(request, user, problems=e.problems, status=422)
    except LetterError as e:
        raise PageRefused(500, str(e)) from None
    name = "letters.pdf" if not unit else "letter.pdf"
    return Response(pdf[0], media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
