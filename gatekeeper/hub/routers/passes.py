"""Admin API: passes of the resident registry: list, issue, revoke, reissue."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.auth import Operator, Reader
from gatekeeper.hub.errors import responses
from gatekeeper.hub.registry import (
    MAX_ISSUE,
    IssuedPass,
    IssueRequest,
    PassKind,
    PassQuery,
    PassRecord,
    PassState,
)
from gatekeeper.hub.roles import CHANGERS
from gatekeeper.hub.routers.lists import PASS_ID
from gatekeeper.hub.routers.units import MAX_OFFSET, actor_of, call_registry, registry_of
from gatekeeper.verify import MAX_TIME, Status

router = APIRouter(tags=["registry"])


class IssueIn(BaseModel):
    unit: Annotated[str, Field(max_length=256, description="The unit's name")]
    count: Annotated[int, Field(ge=1, le=MAX_ISSUE)] = 1
    valid_from: Annotated[int, Field(ge=0, lt=MAX_TIME, description="Unix seconds; default now")] | None = None
    valid_until: Annotated[int, Field(ge=0, lt=MAX_TIME, description="Unix seconds; default a year on")] | None = None
    status: Literal["green", "yellow", "red"] = "green"
    kind: Literal["resident", "visitor"] = Field("resident", description="visitor: not counted against the quota")


class IssuedOut(BaseModel):
    pass_id: str
    text: str = Field(description="The pass as its QR code holds it")
    unit: str | None
    label: str | None
    valid_from: int
    valid_until: int


class PassOut(BaseModel):
    pass_id: str
    unit: str | None
    label: str | None
    kind: str
    valid_from: int
    valid_until: int
    status: str
    state: Literal["active", "revoked", "red", "yellow"]
    state_since: int | None = Field(description="When the revocation entry takes effect (Unix seconds)")
    issued_at: float
    issued_by: str
    source: str
    replaces: str | None
    text: str | None = Field(description="The pass as its QR code holds it; null for a viewer (it opens the gate)")


class RevokeIn(BaseModel):
    state: Literal["revoked", "red", "yellow"] = "revoked"
    since: Annotated[int, Field(ge=0, lt=MAX_TIME, description="Unix seconds; default now")] | None = None


class RevokedOut(BaseModel):
    pass_id: str
    state: str
    version: int = Field(description="The revocation list version that holds the change")


def issued_out(p: IssuedPass) -> IssuedOut:
    return IssuedOut(pass_id=p.pass_id, text=p.text, unit=p.unit, label=p.label, valid_from=p.valid_from,
                     valid_until=p.valid_until)


def pass_out(p: PassRecord, with_text: bool) -> PassOut:
    return PassOut(pass_id=p.pass_id, unit=p.unit, label=p.label, kind=str(p.kind), valid_from=p.valid_from,
                   valid_until=p.valid_until, status=p.status, state=str(p.state), state_since=p.state_since,
                   issued_at=p.issued_at, issued_by=p.issued_by, source=p.source, replaces=p.replaces,
                   text=p.text if with_text else None)


@router.get("/v1/admin/passes", response_model=list[PassOut], responses=responses(401, 422),
            summary="Passes in the registry, newest first; filter by unit and state, q searches")
async def list_passes(request: Request, who: Reader,
                      unit: Annotated[str | None, Query(max_length=256, description="A unit's name")] = None,
                      state: Annotated[Literal["active", "revoked", "red", "yellow"] | None, Query()] = None,
                      q: Annotated[str | None, Query(max_length=200, description="unit, label or pass id")] = None,
                      limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                      offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[PassOut]:
    query = PassQuery(unit, PassState(state) if state else None, q, limit, offset)
    records, _total = await run_in_threadpool(registry_of(request).passes, query)
    return [pass_out(p, who.role in CHANGERS) for p in records]


@router.post("/v1/admin/passes", response_model=list[IssuedOut], status_code=201,
             responses=responses(401, 403, 404, 409, 422),
             summary="Issue passes for a unit (within its quota); the issued passes with their text")
async def issue_passes(request: Request, body: IssueIn, who: Operator) -> list[IssuedOut]:
    req = IssueRequest(body.unit, body.count, body.valid_from, body.valid_until, Status[body.status.upper()],
                       PassKind(body.kind))
    issued = await call_registry(request, "issue", req, actor_of(request, who))
    return [issued_out(p) for p in issued]


@router.post("/v1/admin/passes/{pass_id}/revoke", response_model=RevokedOut,
             responses=responses(401, 403, 404, 409, 422),
             summary="Revoke a pass (or turn it red/yellow from a time) in a new signed revocation version")
async def revoke_pass(request: Request, pass_id: Annotated[str, Path(pattern=PASS_ID)], who: Operator,
                      body: RevokeIn | None = None) -> RevokedOut:
    body = body or RevokeIn()
    v = await call_registry(request, "revoke", pass_id, actor_of(request, who), PassState(body.state), body.since)
    return RevokedOut(pass_id=pass_id, state=body.state, version=v)


@router.post("/v1/admin/passes/{pass_id}/reinstate", response_model=RevokedOut,
             responses=responses(401, 403, 404, 409, 422),
             summary="Reinstate a revoked (or red/yellow) pass in a new signed revocation version")
async def reinstate_pass(request: Request, pass_id: Annotated[str, Path(pattern=PASS_ID)], who: Operator
                         ) -> RevokedOut:
    v = await call_registry(request, "reinstate", pass_id, actor_of(request, who))
    return RevokedOut(pass_id=pass_id, state="active", version=v)


@router.post("/v1/admin/passes/{pass_id}/reissue", response_model=IssuedOut,
             responses=responses(401, 403, 404, 409, 422),
             summary="Revoke a (lost) pass and issue its successor for the same unit; the new pass")
async def reissue_pass(request: Request, pass_id: Annotated[str, Path(pattern=PASS_ID)], who: Operator
                       ) -> IssuedOut:
    return issued_out(await call_registry(request, "reissue", pass_id, actor_of(request, who)))
