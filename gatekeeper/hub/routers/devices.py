"""Devices: enrolment with a one-time token, enrolment tokens, the device list and revocation."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.auth import Admin, Store, check_signature
from gatekeeper.hub.errors import RefusedError, parse_body, responses
from gatekeeper.hub.routers.openapi import json_body
from gatekeeper.hub.store import MAX_TOKEN_TTL_S
from gatekeeper.verify import PublicKey
from gatekeeper.wire import PATH_ENROL, unb64

GATE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: An enrolment is a few hundred bytes: a larger body is refused before it is read.
MAX_ENROL_BYTES = 4096

router = APIRouter()


class EnrolRequest(BaseModel):
    token: Annotated[str, Field(max_length=200)]
    gate_id: Annotated[str, Field(pattern=GATE_ID)]
    public_key: Annotated[str, Field(max_length=100, description="The device's raw Ed25519 public key, base64url.")]


class EnrolReply(BaseModel):
    device_id: str
    gate_id: str
    hub_time: float
    authority_key: str | None = Field(description="The site's authority public key (PEM), when the hub knows it.")
    scope: str | None
    site_name: str | None


class TokenRequest(BaseModel):
    gate_id: Annotated[str, Field(pattern=GATE_ID)] | None = None
    ttl_s: Annotated[float, Field(gt=0, le=MAX_TOKEN_TTL_S)] = 86400


class TokenReply(BaseModel):
    token: str
    gate_id: str | None
    expires_at: float


@router.post(PATH_ENROL, response_model=EnrolReply, status_code=201,
             responses=responses(401, 403, 409, 413, 422, 429),
             summary="Enrol a device key with a one-time token (signed with that key)",
             openapi_extra=json_body(EnrolRequest))
async def enrol(request: Request, store: Store) -> EnrolReply:
    # Parsed here, not by FastAPI: the signature covers the raw bytes (bounded by the middleware).
    body = await request.body()
    req = parse_body(EnrolRequest, body)
    try:
        public = PublicKey.from_raw(unb64(req.public_key))
    except ValueError:
        raise RefusedError(422, "invalid", "public_key must be a raw 32-byte Ed25519 key in base64url") from None
    await check_signature(request, store, body, enrolling=public)
    dev = await run_in_threadpool(store.enrol, req.token, public, req.gate_id)
    site = await run_in_threadpool(store.site_facts)
    return EnrolReply(device_id=dev.device_id, gate_id=dev.gate_id, hub_time=time.time(), **site)


@router.post("/v1/admin/enrol-tokens", response_model=TokenReply, status_code=201, responses=responses(401, 422),
             summary="Make a one-time enrolment token")
async def make_token(req: TokenRequest, store: Store, _: Admin) -> TokenReply:
    now = time.time()
    token = await run_in_threadpool(store.create_enrol_token, req.gate_id, req.ttl_s, now)
    return TokenReply(token=token, gate_id=req.gate_id, expires_at=now + req.ttl_s)


@router.get("/v1/admin/devices", responses=responses(401), summary="Enrolled devices and their acks")
async def list_devices(store: Store, _: Admin) -> list[dict]:
    return await run_in_threadpool(store.devices)


@router.post("/v1/admin/devices/{device}/revoke", status_code=204, responses=responses(401, 404, 422),
             summary="Refuse every further request of a device")
async def revoke_device(device: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")], store: Store, _: Admin) -> Response:
    if not await run_in_threadpool(store.revoke_device, device):
        raise RefusedError(404, "unknown_device", f"no device {device}")
    return Response(status_code=204)
