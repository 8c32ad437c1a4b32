"""The audit log page (every role) and its exports (CSV, JSON lines; each export is itself audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from gatekeeper.hub.audit import AUDIT_FIELDS, AuditAction
from gatekeeper.hub.console.web import NAV, NavItem, PageRefused, Viewer, render, site_zone
from gatekeeper.hub.export import FORMATS
from gatekeeper.hub.export import render as export_rows

router = APIRouter()
NAV.append(NavItem("/audit", "Audit log"))
PAGE = 100


@router.get("/audit")
async def audit_page(request: Request, user: Viewer, actor: str = "", action: str = "", target: str = "",
                     before: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    entries = await run_in_threadpool(request.app.state.audit.entries, actor or None, action or None,
                                      target or None, PAGE, before)
    older = entries[-1].id if len(entries) == PAGE else None
    return render(request, "audit.html", user, entries=entries, actor=actor, action=action, target=target,
                  older=older, actions=list(AuditAction))


@router.get("/audit/export.{fmt}")
async def audit_export(request: Request, user: Viewer, fmt: str, actor: str = "", action: str = "",
                       target: str = "") -> Response:
    if fmt not in FORMATS:
        raise PageRefused(404, "No such export format.")
    audit = request.app.state.audit
    await run_in_threadpool(audit.record, user.name, AuditAction.EXPORT, "audit_log",
                            f"{fmt} actor={actor or '*'} action={action or '*'} target={target or '*'}", user.address)
    rows = audit.export(actor or None, action or None, target or None)
    lines = export_rows(rows, fmt, AUDIT_FIELDS, site_zone(request))
    return StreamingResponse(iterate_in_threadpool(lines), media_type=FORMATS[fmt],
                             headers={"Content-Disposition": f'attachment; filename="audit.{fmt}"'})
