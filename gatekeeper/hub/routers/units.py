"""Admin API: units (households) of the resident registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.auth import Operator, Principal, Reader
from gatekeeper.hub.errors import RefusedError, responses
from gatekeeper.hub.registry import (
    MAX_NAME,
    MAX_NOTE,
    MAX_QUOTA,
    Actor,
    ConflictError,
    FieldErrors,
    NotFoundError,
    ReadOnlyError,
    Registry,
    RegistryError,
    RowErrors,
    Source,
    Unit,
    UnitInput,
)

router = APIRouter(tags=["registry"])
#: Far past any registry, small enough for every database's integers.
MAX_OFFSET = 10**9


class UnitIn(BaseModel):
    name: Annotated[str, Field(max_length=MAX_NAME * 4, description="The name residents know, e.g. 3号楼2单元101")]
    label: Annotated[str, Field(max_length=96, description="The short pass label (<= 24 UTF-8 bytes), e.g. 3-2-101")]
    quota: Annotated[int, Field(ge=0, le=MAX_QUOTA, description="How many active resident passes it may hold")]
    note: Annotated[str, Field(max_length=MAX_NOTE * 4, description="No names of people, no ID numbers")] = ""


class UnitOut(BaseModel):
    name: str
    label: str
    quota: int
    note: str
    active: int = Field(description="Resident passes held now (not revoked, not expired)")
    created_at: float


def registry_of(request: Request) -> Registry:
    return request.app.state.registry


def actor_of(request: Request, who: Principal) -> Actor:
    """An API caller as the audit log names it (a token as ``token:<label>``)."""
    name = f"token:{who.name}" if who.via == "token" else who.name
    return Actor(name, request.client.host if request.client else "", Source.API)


def refused(e: RegistryError) -> RefusedError:
    """A registry refusal as the API says it (codes in docs/sync-protocol.md)."""
    if isinstance(e, ReadOnlyError):
        return RefusedError(409, "cannot_sign", str(e))
    if isinstance(e, NotFoundError):
        return RefusedError(404, "not_found", str(e))
    if isinstance(e, RowErrors):
        return RefusedError(422, "invalid_rows", str(e))
    if isinstance(e, FieldErrors):
        return RefusedError(422, "invalid", str(e))
    assert isinstance(e, ConflictError)
    return RefusedError(409, "conflict", str(e))


async def call_registry(request: Request, operation: str, *args: object) -> Any:
    """``Registry.<operation>(*args)`` off the event loop; its refusals as API refusals."""
    try:
        return await run_in_threadpool(getattr(registry_of(request), operation), *args)
    except RegistryError as e:
        raise refused(e) from None


def unit_out(u: Unit) -> UnitOut:
    return UnitOut(name=u.name, label=u.label, quota=u.quota, note=u.note, active=u.active, created_at=u.created_at)


@router.get("/v1/admin/units", response_model=list[UnitOut], responses=responses(401, 422),
            summary="Units, by name; q matches a name or label")
async def list_units(request: Request, _: Reader,
                     q: Annotated[str | None, Query(max_length=200)] = None,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[UnitOut]:
    units, _total = await run_in_threadpool(registry_of(request).units, q, limit, offset)
    return [unit_out(u) for u in units]


@router.post("/v1/admin/units", response_model=UnitOut, status_code=201, responses=responses(401, 403, 422),
             summary="Create a unit")
async def create_unit(request: Request, body: UnitIn, who: Operator) -> UnitOut:
    u = await call_registry(request, "create_unit", UnitInput(body.name, body.label, body.quota, body.note),
                            actor_of(request, who))
    return unit_out(u)
