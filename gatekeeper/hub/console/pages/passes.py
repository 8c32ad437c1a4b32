"""Passes: the list and search, one pass (QR, PNG, revoke, reinstate, red/yellow, reissue),
issuing for a unit and in bulk from a CSV, and A4 sheets for one unit or many."""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from gatekeeper.hub.console.pages.units import _unit, problems_by_field
from gatekeeper.hub.console.web import (
    NAV,
    Changer,
    NavItem,
    PageNumber,
    PageRefused,
    Printer,
    Viewer,
    back,
    field,
    form_of,
    parse_input_time,
    render,
    secure_headers,
    site_zone,
)
from gatekeeper.hub.registry import (
    FieldErrors,
    FieldProblem,
    IssueRequest,
    PassKind,
    PassQuery,
    PassRecord,
    PassState,
    RegistryError,
    RowErrors,
    issue_requests_csv,
    parse_pass_id,
)
from gatekeeper.verify import Status, parse

router = APIRouter()
NAV.append(NavItem("/passes", "Passes"))
PAGE = 50
#: Most passes on one printed sheet request (a building at a time).
MAX_SHEET = 2000


def qr_png(text: str, scale: int = 8) -> bytes:
    """The pass as a QR PNG: error correction M, as printed (``gatekeeper pass issue --png``)."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def _issue_template(form, zone) -> tuple[IssueRequest, list[FieldProblem]]:
    start, p1 = parse_input_time(field(form, "valid_from"), zone, "valid_from")
    end, p2 = parse_input_time(field(form, "valid_until"), zone, "valid_until")
    problems = p1 + p2
    status = field(form, "status") or "green"
    kind = field(form, "kind") or "resident"
    if status not in ("green", "yellow", "red"):
        problems.append(FieldProblem("status", "Choose green, yellow or red."))
        status = "green"
    if kind not in ("resident", "visitor"):
        problems.append(FieldProblem("kind", "Choose residents or a visitor."))
        kind = "resident"
    return IssueRequest("", 1, start, end, Status[status.upper()], PassKind(kind)), problems


@router.get("/passes")
async def passes_page(request: Request, user: Viewer, unit: str = "", state: str = "", q: str = "",
                      page: PageNumber = 1) -> Response:
    page = max(1, page)
    chosen = PassState(state) if state in PassState._value2member_map_ else None
    records, total = await run_in_threadpool(request.app.state.registry.passes,
                                             PassQuery(unit or None, chosen, q, PAGE, (page - 1) * PAGE))
    return render(request, "passes.html", user, passes=records, total=total, unit=unit, state=state, q=q,
                  page=page, pages=max(1, -(-total // PAGE)), states=list(PassState))


@router.post("/unit/issue")
async def issue_for_unit(request: Request, user: Changer) -> Response:
    form = await form_of(request, user)
    unit = field(form, "unit")
    template, problems = _issue_template(form, site_zone(request))
    try:
        count = int(field(form, "count") or "1")
    except ValueError:
        problems.append(FieldProblem("count", "A whole number from 1 to %(n)d.", {"n": 50}))
        count = 0
    if not problems:
        req = IssueRequest(unit, count, template.valid_from, template.valid_until, template.status, template.kind)
        try:
            await run_in_threadpool(request.app.state.registry.issue, req, user.actor())
            return back("/unit", name=unit, done="issued")
        except RegistryError as e:
            problems = e.problems
    return await _unit(request, user, unit, problems=problems, form=dict(form), status=422)


@router.get("/passes/bulk")
async def bulk_page(request: Request, user: Changer) -> Response:
    return render(request, "bulk.html", user, bad={}, errors={}, issued=None)


@router.post("/passes/bulk")
async def bulk_issue(request: Request, user: Changer) -> Response:
    """A CSV of ``unit,count`` rows: every row checked (unit, quota) before any pass is signed;
    all issued in one transaction, or none."""
    form = await form_of(request, user)
    template, problems = _issue_template(form, site_zone(request))
    upload = form.get("file")
    bad: dict[int, list[FieldProblem]] = {}
    issued = None
    if not problems:
        data = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            reqs = issue_requests_csv(data, template)
        except RowErrors as e:
            reqs, bad = [], e.rows  # numbered as in the file already
        except RegistryError as e:
            reqs, problems = [], e.problems
        if reqs:
            try:
                issued = await run_in_threadpool(request.app.state.registry.issue_bulk, reqs, user.actor())
            except RowErrors as e:
                bad = _file_rows(e.rows)
            except RegistryError as e:
                problems = e.problems
    status = 422 if bad or problems else 200
    notice = user.lang.gettext("%(n)d passes issued.", n=len(issued)) if issued else None
    return render(request, "bulk.html", user, status=status, bad=bad, errors=problems_by_field(problems),
                  issued=issued, notice=notice)


def _file_rows(rows: dict[int, list[FieldProblem]]) -> dict[int, list[FieldProblem]]:
    """Row numbers as in the file (the header is row 1): issue_bulk numbers its requests from 1."""
    return {n + 1: ps for n, ps in rows.items()}


async def _record(request: Request, pass_id: str) -> PassRecord:
    """The pass, or a 404 page (an unknown or malformed id alike)."""
    try:
        rec = await run_in_threadpool(request.app.state.registry.pass_record, pass_id)
    except FieldErrors:
        rec = None
    if rec is None:
        raise PageRefused(404, "No such pass.")
    return rec


@router.get("/pass/{pass_id}")
async def pass_page(request: Request, user: Viewer, pass_id: str, done: str = "") -> Response:
    return await _pass(request, user, pass_id, done)


async def _pass(request: Request, user, pass_id: str, done: str = "", problems: list[FieldProblem] | None = None,
                status: int = 200) -> Response:
    rec = await _record(request, pass_id)
    notices = {"revoked": "Pass revoked.", "reinstated": "Pass reinstated.", "status": "Status changed.",
               "reissued": "The lost pass is revoked; this is its replacement."}
    return render(request, "pass.html", user, status=status, p=rec, errors=problems_by_field(problems or []),
                  notice=user.lang.gettext(notices[done]) if done in notices else None)


@router.get("/pass/{pass_id}/qr.png")
async def pass_qr(request: Request, user: Printer, pass_id: str, download: bool = False) -> Response:
    rec = await _record(request, pass_id)
    headers = {"Content-Disposition": f'attachment; filename="pass-{rec.pass_id}.png"'} if download else {}
    return secure_headers(Response(await run_in_threadpool(qr_png, rec.text), media_type="image/png",
                                   headers=headers))


@router.post("/pass/{pass_id}/{action}")
async def change_pass(request: Request, user: Changer, pass_id: str, action: str) -> Response:
    form = await form_of(request, user)
    registry, actor = request.app.state.registry, user.actor()
    try:
        pid = parse_pass_id(pass_id)
        if action == "revoke":
            await run_in_threadpool(registry.revoke, pid, actor)
            return back(f"/pass/{pid}", done="revoked")
        if action == "reinstate":
            await run_in_threadpool(registry.reinstate, pid, actor)
            return back(f"/pass/{pid}", done="reinstated")
        if action == "status":
            colour = field(form, "state")
            since, problems = parse_input_time(field(form, "since"), site_zone(request), "since")
            if colour not in ("red", "yellow"):
                problems.append(FieldProblem("state", "Choose red or yellow."))
            if problems:
                raise FieldErrors(problems)
            await run_in_threadpool(registry.revoke, pid, actor, PassState(colour), since)
            return back(f"/pass/{pid}", done="status")
        if action == "reissue":
            new = await run_in_threadpool(registry.reissue, pid, actor)
            return back(f"/pass/{new.pass_id}", done="reissued")
    except RegistryError as e:
        return await _pass(request, user, pass_id, problems=e.problems, status=422)
    raise PageRefused(404, "No such action.")


@router.get("/sheet.pdf")
async def sheet(request: Request, user: Printer, unit: Annotated[list[str], Query()] = [],  # noqa: B006
                pass_id: Annotated[list[str], Query(alias="pass")] = []) -> Response:  # noqa: B006
    """An A4 sheet (``gatekeeper pass print``'s layout) of the active passes of the given units,
    or of the given passes."""
    registry = request.app.state.registry
    records = []
    for name in unit[:500]:
        got, _ = await run_in_threadpool(registry.passes, PassQuery(name, PassState.ACTIVE, None, MAX_SHEET))
        records += got
    for pid in pass_id[:MAX_SHEET]:
        try:
            rec = await run_in_threadpool(registry.pass_record, pid)
        except FieldErrors:
            rec = None
        if rec is not None:
            records.append(rec)
    if not records:
        raise PageRefused(404, "No active passes to print.")
    pdf = await run_in_threadpool(_render_sheet, request, records[:MAX_SHEET])
    return secure_headers(Response(pdf, media_type="application/pdf",
                                   headers={"Content-Disposition": 'inline; filename="passes.pdf"'}))


def _render_sheet(request: Request, records) -> bytes:
    from gatekeeper.admin import SheetPass, render_sheet
    zone = site_zone(request)
    site_name = request.app.state.store.site_facts().get("site_name") or ""
    passes = [SheetPass(r.text, parse(r.text).claims, site_name, zone) for r in records]
    return render_sheet(passes, lambda text: segno.make(text, error="m", micro=False))
