"""The signed lists: devices catch up; admins revoke and reinstate passes; health."""

from __future__ import annotations

import time
from typing import Annotated, Literal

import cbor2
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gatekeeper import __version__
from gatekeeper.hub.audit import AuditAction
from gatekeeper.hub.auth import Admin, Lists, SignedDevice, Store
from gatekeeper.hub.errors import RefusedError, responses
from gatekeeper.hub.routers.units import actor_of
from gatekeeper.verify import MAX_TIME, PASS_ID_LEN, EntryState
from gatekeeper.wire import H_FRESHNESS, LIST_MEDIA_TYPE, PATH_LISTS

PASS_ID = rf"^[0-9a-f]{{{2 * PASS_ID_LEN}}}$"

router = APIRouter()


class RevokeRequest(BaseModel):
    pass_id: Annotated[str, Field(pattern=PASS_ID)]
    state: Literal["revoked", "red", "yellow"] = "revoked"
    since: Annotated[int, Field(ge=0, lt=MAX_TIME)] | None = Field(None, description="Unix seconds; default now.")


class VersionReply(BaseModel):
    version: int


class Health(BaseModel):
    status: str
    version: str
    hub_time: float
    trust_version: int
    revocation_version: int
    can_sign: bool


def signer(publisher: Lists) -> None:
    """409 unless this hub holds the site directory and can sign lists."""
    if not publisher.can_sign:
        raise RefusedError(409, "cannot_sign", "this hub runs without the site directory and cannot sign lists: "
                           "send the change to the hub started with --site")


@router.get(PATH_LISTS, responses={200: {"content": {LIST_MEDIA_TYPE: {}},
                                         "description": "A CBOR array of signed list files to apply in order"},
                                   304: {"description": "The device holds the current lists"},
                                   **responses(401, 403, 422)},
            summary="The list files that bring a device from the versions it holds to the current ones")
async def lists(request: Request, _: SignedDevice, publisher: Lists,
                trust: Annotated[int, Query(ge=0, le=2**40, description="Trust list version held (0: none)")] = 0,
                revocations: Annotated[int, Query(ge=0, le=2**40, description="Revocation version held")] = 0,
                ) -> Response:
    tag, files = await run_in_threadpool(publisher.reply, trust, revocations)
    headers = {"ETag": tag}
    fresh = await run_in_threadpool(publisher.freshness)
    if fresh:
        headers[H_FRESHNESS] = fresh
    if not files or request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(cbor2.dumps(files), media_type=LIST_MEDIA_TYPE, headers=headers)


@router.get("/v1/health", response_model=Health, summary="Liveness and the published list versions (no auth)")
async def health(store: Store, publisher: Lists) -> Health:
    t, r = await run_in_threadpool(store.latest_versions)
    return Health(status="ok", version=__version__, hub_time=time.time(), trust_version=t, revocation_version=r,
                  can_sign=publisher.can_sign)


@router.post("/v1/admin/revocations", response_model=VersionReply, responses=responses(401, 409, 422),
             summary="Revoke a pass (or turn it red/yellow) in a new signed revocation version")
async def revoke_pass(request: Request, req: RevokeRequest, publisher: Lists, who: Admin) -> VersionReply:
    signer(publisher)
    since = req.since if req.since is not None else int(time.time())
    v = await run_in_threadpool(publisher.revoke, bytes.fromhex(req.pass_id), EntryState[req.state.upper()], since)
    action = AuditAction.PASS_REVOKE if req.state == "revoked" else AuditAction.PASS_STATUS
    actor = actor_of(request, who)
    await run_in_threadpool(request.app.state.audit.record, actor.name, action, req.pass_id,
                            f"{req.state} from {since}, revocation list v{v}", actor.address)
    return VersionReply(version=v)


@router.delete("/v1/admin/revocations/{pass_id}", response_model=VersionReply, responses=responses(401, 409, 422),
               summary="Reinstate a pass in a new signed revocation version")
async def lift_pass(request: Request, pass_id: Annotated[str, Path(pattern=PASS_ID)], publisher: Lists,
                    who: Admin) -> VersionReply:
    signer(publisher)
    v = await run_in_threadpool(publisher.lift, bytes.fromhex(pass_id))
    actor = actor_of(request, who)
    await run_in_threadpool(request.app.state.audit.record, actor.name, AuditAction.PASS_REINSTATE, pass_id,
                            f"revocation list v{v}", actor.address)
    return VersionReply(version=v)
