"""Admin API: the audit log (every role may read it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.audit import AuditEntry
from gatekeeper.hub.auth import Reader
from gatekeeper.hub.errors import responses

router = APIRouter(tags=["audit"])


@router.get("/v1/admin/audit", response_model=list[AuditEntry], responses=responses(401, 422),
            summary="Audit log entries, newest first (page back with before=<id>)")
async def audit_entries(request: Request, _: Reader,
                        actor: Annotated[str | None, Query(max_length=200)] = None,
                        action: Annotated[str | None, Query(max_length=64)] = None,
                        target: Annotated[str | None, Query(max_length=300)] = None,
                        before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                        limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[AuditEntry]:
    return await run_in_threadpool(request.app.state.audit.entries, actor, action, target, limit, before)
