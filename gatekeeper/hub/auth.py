"""Who is asking: a device's signed request, or an admin's bearer token, as FastAPI dependencies.

Authentication runs before the body is validated, so a stranger learns nothing of the schema
(401 first, 422 only for someone allowed to ask).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.errors import RefusedError
from gatekeeper.hub.publisher import Publisher
from gatekeeper.hub.store import Device, HubStore
from gatekeeper.verify import PublicKey
from gatekeeper.wire import TIME_WINDOW_S, device_id, parse_signature_headers


class Role(enum.StrEnum):
    """What a person (or a script) may do: admin everything, operator passes and gates, viewer read."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    """Who made an admin request: ``name`` is an account or a token's label; ``via`` how they signed in."""

    name: str
    role: Role
    via: str


def hub_store(request: Request) -> HubStore:
    return request.app.state.store


def publisher(request: Request) -> Publisher:
    return request.app.state.publisher


Store = Annotated[HubStore, Depends(hub_store)]
Lists = Annotated[Publisher, Depends(publisher)]


def request_target(request: Request) -> str:
    """The request target as the device signed it: raw path plus query string."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


async def check_signature(request: Request, store: HubStore, body: bytes,
                          enrolling: PublicKey | None = None) -> Device | None:
    """Check a request's signature, time and nonce; the device (None while enrolling)."""
    try:
        sig = parse_signature_headers(request.headers)
    except ValueError as e:
        raise RefusedError(401, "unsigned", str(e)) from None
    now = time.time()
    if enrolling is not None:
        if sig.device != device_id(enrolling):
            raise RefusedError(401, "bad_signature", "GK-Device does not match the public key being enrolled")
        dev, key = None, enrolling
    else:
        dev = await run_in_threadpool(store.device, sig.device)
        if dev is None:
            raise RefusedError(401, "unknown_device", f"device {sig.device} is not enrolled at this hub: "
                               "provision it with an enrolment token")
        if dev.revoked_at is not None:
            raise RefusedError(403, "device_revoked", f"device {sig.device} was revoked by an admin")
        key = dev.public_key
    if abs(sig.timestamp - now) > TIME_WINDOW_S:
        raise RefusedError(401, "stale_time", f"request time {sig.timestamp} is more than {TIME_WINDOW_S} s from "
                           f"the hub's {int(now)}: sign with the hub's time (GK-Hub-Time) and retry")
    if not sig.verify(key, request.method, request_target(request), body):
        raise RefusedError(401, "bad_signature", "signature does not verify for this device, request and body")
    if not await run_in_threadpool(store.use_nonce, sig.device, sig.nonce, now):
        raise RefusedError(401, "replay", "nonce already used: a replayed request is refused")
    return dev


async def signed_device(request: Request, store: Store) -> Device:
    """Dependency: the enrolled, unrevoked device that signed this request (and its whole body)."""
    dev = await check_signature(request, store, await request.body())
    assert dev is not None
    return dev


async def admin_principal(request: Request, store: Store) -> Principal:
    """Dependency: an admin bearer token (role admin); 401 otherwise."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    label = await run_in_threadpool(store.admin_label, token) if token else None
    if label is None:
        raise RefusedError(401, "admin_only", "an admin token is required (Authorization: Bearer ...; "
                           "make one with 'gatekeeper hub admin-token')")
    return Principal(label, Role.ADMIN, "token")


SignedDevice = Annotated[Device, Depends(signed_device)]
Admin = Annotated[Principal, Depends(admin_principal)]
