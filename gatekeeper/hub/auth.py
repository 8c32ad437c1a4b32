"""Who is asking: a device's signed request, an admin's bearer token, or a console session, as
FastAPI dependencies.

Authentication runs before the body is validated, so a stranger learns nothing of the schema
(401 first, 422 only for someone allowed to ask).

For admin endpoints take one of (each a :class:`Principal`):

- ``Reader``: any role (admin, operator, viewer): reads;
- ``Operator``: admin or operator: passes, units, gates;
- ``Admin``: admin only: accounts, devices, tokens.

A bearer admin token is role admin. A console session (cookie ``gk_session``) has its account's
role; a change (any method but GET/HEAD/OPTIONS) through a session also needs the session's CSRF
token in the ``X-CSRF-Token`` header or the form field ``csrf``: 403 ``csrf`` otherwise. A role
too small for the endpoint is 403 ``forbidden``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.database import Tx
from gatekeeper.hub.errors import RefusedError
from gatekeeper.hub.limits import HubLimits, Limited, client_address
from gatekeeper.hub.publisher import Publisher
from gatekeeper.hub.roles import CHANGERS, Role
from gatekeeper.hub.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Sessions, same_token
from gatekeeper.hub.store import Device, HubStore
from gatekeeper.verify import PublicKey
from gatekeeper.wire import PATH_LOG, REPORT_PARAM, TIME_WINDOW_S, SignedRequest, device_id, parse_signature_headers

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """Who made an admin request: ``name`` is an account or a token's label; ``via`` how they signed in."""

    name: str
    role: Role
    via: str


async def hub_store(request: Request) -> HubStore:  # async: no thread-pool hop per request
    return request.app.state.store


async def publisher(request: Request) -> Publisher:
    return request.app.state.publisher


async def hub_limits(request: Request) -> HubLimits:
    return request.app.state.limits


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
    dev, sig, now = await verified(request, store, body, enrolling)
    if not await run_in_threadpool(store.use_nonce, sig.device, sig.nonce, now):
        raise RefusedError(401, "replay", "nonce already used: a replayed request is refused")
    return dev


async def verified(request: Request, store: HubStore, body: bytes,
                   enrolling: PublicKey | None = None) -> tuple[Device | None, SignedRequest, float]:
    """Check a request's signature and time, not its nonce: (device, signature headers, hub time)."""
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
    # Counted only once the signature verified: nobody can spend another device's quota.
    what = Limited.ENROL_DEVICE if enrolling is not None else (
        Limited.UPLOAD_DEVICE if request.url.path == PATH_LOG else None)
    rates = request.app.state.limits.rates
    if what is not None and not rates.hit(what, sig.device):
        raise rates.refuse(what, sig.device)
    return dev, sig, now


async def signed_device(request: Request, store: Store) -> Device:
    """Dependency: the enrolled, unrevoked device that signed this request (and its whole body)."""
    dev = await check_signature(request, store, await request.body())
    assert dev is not None
    await heard(request, dev)
    return dev


async def heard(request: Request, dev: Device) -> None:
    """Record the device's contact and the gate report its request carries (gatekeeper.hub.gates)."""
    gates = getattr(request.app.state, "gates", None)
    if gates is not None:
        await run_in_threadpool(gates.heard, dev.device_id, dev.gate_id, request.query_params.get(REPORT_PARAM))


@dataclass(frozen=True)
class SignedUpload:
    """An upload whose signature verified; its ``nonce`` and the gate's ``contact`` (when one is due)
    are written with the rows, in one transaction."""

    device: Device
    nonce: str
    body: bytes
    contact: Callable[[Tx], None] | None


async def signed_upload(request: Request, store: Store) -> SignedUpload:
    """Dependency: like :func:`signed_device`, but the nonce and the contact are left to the store's
    ingest (a burst of gates then costs one commit per group of uploads, not one more per gate)."""
    body = await request.body()
    dev, sig, now = await verified(request, store, body)
    assert dev is not None
    gates = getattr(request.app.state, "gates", None)
    contact = None
    if gates is not None and gates.due(dev.gate_id, now):
        contact = partial(gates.record, device_id=dev.device_id, gate_id=dev.gate_id,
                          report_text=request.query_params.get(REPORT_PARAM), now=now)
    return SignedUpload(dev, sig.nonce, body, contact)


async def request_principal(request: Request, store: Store) -> Principal:
    """Dependency: a bearer admin token (role admin) or a console session (its role); 401 otherwise.

    A change through a session needs the session's CSRF token (403 ``csrf``)."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if token:
        rates, address = request.app.state.limits.rates, client_address(request.scope)
        if rates.over(Limited.ADMIN_ADDRESS, address):  # before the database: guessing costs the guesser
            raise rates.refuse(Limited.ADMIN_ADDRESS, address)
        label = await run_in_threadpool(store.admin_label, token)
        if label is not None:
            return Principal(label, Role.ADMIN, "token")
        rates.hit(Limited.ADMIN_ADDRESS, address)  # only failures count
    else:
        sessions: Sessions = request.app.state.sessions
        session = await run_in_threadpool(sessions.get, request.cookies.get(COOKIE))
        if session is not None:
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER)
                if sent is None and request.headers.get("content-type", "").startswith(
                        ("application/x-www-form-urlencoded", "multipart/form-data")):
                    sent = (await request.form()).get(CSRF_FIELD)
                if not same_token(sent if isinstance(sent, str) else None, session.csrf):
                    raise RefusedError(403, "csrf", f"a change through a console session needs its CSRF token "
                                       f"(header {CSRF_HEADER} or form field {CSRF_FIELD})")
            return Principal(session.username, session.role, "session")
    raise RefusedError(401, "admin_only", "an admin token is required (Authorization: Bearer ...; "
                       "make one with 'gatekeeper hub admin-token'), or a signed-in console session")


def require(*roles: Role):
    """A dependency: the principal, when its role is one of ``roles``; 403 ``forbidden`` otherwise."""
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(request_principal)]) -> Principal:
        if principal.role not in allowed:
            raise RefusedError(403, "forbidden", f"role {principal.role} may not do this "
                               f"(needs {' or '.join(sorted(allowed))})")
        return principal

    return dependency


async def admin_principal(principal: Annotated[Principal, Depends(request_principal)]) -> Principal:
    """Dependency: role admin (an admin token, or an admin's console session)."""
    return await require(Role.ADMIN)(principal)


SignedDevice = Annotated[Device, Depends(signed_device)]
SignedUploadOf = Annotated[SignedUpload, Depends(signed_upload)]
Limits = Annotated[HubLimits, Depends(hub_limits)]
Admin = Annotated[Principal, Depends(admin_principal)]
Operator = Annotated[Principal, Depends(require(*CHANGERS))]
Reader = Annotated[Principal, Depends(request_principal)]
