"""Units (households): the list and search, one unit with its passes, create, edit, CSV import."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from gatekeeper.hub.console.web import (
    NAV,
    Changer,
    NavItem,
    PageNumber,
    PageRefused,
    Viewer,
    back,
    field,
    form_of,
    render,
)
from gatekeeper.hub.registry import (
    DAY,
    FieldErrors,
    FieldProblem,
    PassQuery,
    RegistryError,
    UnitInput,
    check_units_csv,
)

router = APIRouter()
NAV.append(NavItem("/units", "Units"))
PAGE = 50


def problems_by_field(problems: list[FieldProblem]) -> dict[str, list[FieldProblem]]:
    out: dict[str, list[FieldProblem]] = {}
    for p in problems:
        out.setdefault(p.field, []).append(p)
    return out


@router.get("/units")
async def units_page(request: Request, user: Viewer, q: str = "", page: PageNumber = 1, done: str = "") -> Response:
    return await _units(request, user, q, page, done)


async def _units(request: Request, user, q: str, page: int, done: str, form: dict | None = None,
                 problems: list[FieldProblem] | None = None, status: int = 200) -> Response:
    page = max(1, page)
    units, total = await run_in_threadpool(request.app.state.registry.units, q, PAGE, (page - 1) * PAGE)
    notice = user.lang.gettext("Unit %(name)s created.", name=done) if done else None
    return render(request, "units.html", user, status=status, units=units, total=total, q=q, page=page,
                  pages=max(1, -(-total // PAGE)), form=form or {}, errors=problems_by_field(problems or []),
                  notice=notice)


@router.post("/units")
async def create_unit(request: Request, user: Changer) -> Response:
    form = await form_of(request, user)
    raw = UnitInput(field(form, "name"), field(form, "label"), field(form, "quota"), field(form, "note"))
    try:
        unit = await run_in_threadpool(request.app.state.registry.create_unit, raw, user.actor())
    except FieldErrors as e:
        return await _units(request, user, "", 1, "", raw.__dict__, e.problems, 422)
    return back("/units", done=unit.name)


@router.get("/units/import")
async def import_page(request: Request, user: Changer) -> Response:
    return render(request, "unit_import.html", user, rows=None, bad={}, units=[], csv_text="")


@router.post("/units/import")
async def import_units(request: Request, user: Changer) -> Response:
    """Upload: a preview naming every bad row (nothing written). Confirm (the previewed text
    posted back): all units written in one transaction, or none."""
    form = await form_of(request, user)
    registry = request.app.state.registry
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
    else:
        data = field(form, "csv_text").encode()
    try:
        units, bad = await run_in_threadpool(check_units_csv, registry, data)
    except FieldErrors as e:
        units, bad = [], {1: e.problems}
    if bad or not field(form, "confirm"):
        return render(request, "unit_import.html", user, status=422 if bad else 200, units=units, bad=bad,
                      csv_text=data.decode("utf-8-sig", errors="replace") if not bad else "")
    try:
        made = await run_in_threadpool(registry.import_units, [UnitInput(u.name, u.label, u.quota, u.note)
                                                               for u in units], user.actor())
    except RegistryError as e:
        return render(request, "unit_import.html", user, status=422, units=[], csv_text="",
                      bad=getattr(e, "rows", {1: e.problems}))
    return render(request, "unit_import.html", user, units=[], bad={}, csv_text="",
                  notice=user.lang.gettext("%(n)d units imported.", n=len(made)))


@router.get("/unit")
async def unit_page(request: Request, user: Viewer, name: str, done: str = "") -> Response:
    return await _unit(request, user, name, done)


async def _unit(request: Request, user, name: str, done: str = "", problems: list[FieldProblem] | None = None,
                form: dict | None = None, status: int = 200) -> Response:
    registry = request.app.state.registry
    unit = await run_in_threadpool(registry.unit, name)
    if unit is None:
        raise PageRefused(404, "No such unit.")
    passes, total = await run_in_threadpool(registry.passes, PassQuery(unit=unit.name, limit=200))
    notices = {"issued": "Passes issued.", "saved": "Unit saved."}
    return render(request, "unit.html", user, status=status, unit=unit, passes=passes, total=total,
                  errors=problems_by_field(problems or []), form=form or {}, day=DAY,
                  notice=user.lang.gettext(notices[done]) if done in notices else None)


@router.post("/unit/edit")
async def edit_unit(request: Request, user: Changer) -> Response:
    form = await form_of(request, user)
    name = field(form, "name")
    raw = UnitInput(name, field(form, "label"), field(form, "quota"), field(form, "note"))
    try:
        await run_in_threadpool(request.app.state.registry.update_unit, name, raw, user.actor())
    except RegistryError as e:
        return await _unit(request, user, name, problems=e.problems, form=raw.__dict__, status=422)
    return back("/unit", name=name, done="saved")
