"""The reference hub: an ASGI app (FastAPI) over :class:`HubStore` and :class:`Publisher`.

Run it with ``gatekeeper hub serve``. Every refusal is a 4xx with the JSON body
``{"error": code, "message": text, "hub_time": t}``; the codes are listed in docs/sync-protocol.md.
Every reply carries ``GK-Hub-Time`` so a device with an untrusted clock can sign with the hub's time.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gatekeeper import __version__
from gatekeeper.admin import Site
from gatekeeper.hub import export
from gatekeeper.hub.publisher import Publisher
from gatekeeper.hub.store import Device, HubStore, RefusedError
from gatekeeper.verify import PASS_ID_LEN, EntryState, PublicKey
from gatekeeper.wire import (
    H_FRESHNESS,
    H_HUB_TIME,
    LIST_MEDIA_TYPE,
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    PATH_ENROL,
    PATH_LISTS,
    PATH_LOG,
    TIME_WINDOW_S,
    Ack,
    Batch,
    device_id,
    inflate,
    parse_signature_headers,
    unb64,
)

GATE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MAX_ENROL_BYTES = 4096
#: Batches stored at once per hub process; more get 429 + Retry-After (load shedding, not queueing).
MAX_INFLIGHT_BATCHES = 16


class Problem(BaseModel):
    """Every refusal's body."""

    error: str
    message: str
    hub_time: float


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
    ttl_s: Annotated[float, Field(gt=0, le=30 * 86400)] = 86400


class TokenReply(BaseModel):
    token: str
    gate_id: str | None
    expires_at: float


class RevokeRequest(BaseModel):
    pass_id: Annotated[str, Field(pattern=rf"^[0-9a-f]{{{2 * PASS_ID_LEN}}}$")]
    state: Literal["revoked", "red", "yellow"] = "revoked"
    since: Annotated[int, Field(ge=0, le=2**40)] | None = Field(None, description="Unix seconds; default now.")


class VersionReply(BaseModel):
    version: int


class Health(BaseModel):
    status: str
    version: str
    hub_time: float
    trust_version: int
    revocation_version: int
    can_sign: bool


class HubTimeAndLimit:
    """ASGI middleware: a ``GK-Hub-Time`` header on every reply, and no body over the hub's limit.

    The limit is enforced here, before any endpoint (or FastAPI's body parsing) reads a byte, so an
    unauthenticated client cannot make the hub buffer a huge body.
    """

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await _send_problem(send, 413, "too_large", f"body over the limit of {self.limit} bytes")
                return
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise RefusedError(413, "too_large", f"body over the limit of {self.limit} bytes")
            return message

        async def stamped_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []),
                                                  (H_HUB_TIME.lower().encode(), f"{time.time():.3f}".encode())]}
            await send(message)

        try:
            await self.app(scope, limited_receive, stamped_send)
        except RefusedError as e:
            if started:
                raise
            await _send_problem(send, e.status, e.code, e.message)


async def _send_problem(send: Any, status: int, code: str, message: str) -> None:
    now = time.time()
    body = json.dumps({"error": code, "message": message, "hub_time": now}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (H_HUB_TIME.lower().encode(), f"{now:.3f}".encode())]})
    await send({"type": "http.response.body", "body": body})


def _problem(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "hub_time": time.time()}, status, headers=headers)


#: Schemas of bodies parsed by hand (and of their nested models), added to the spec's components.
_NESTED_SCHEMAS: dict[str, dict] = {}


def _json_body(model: type[BaseModel]) -> dict:
    """The OpenAPI request body of an endpoint that reads and parses its body itself."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    _NESTED_SCHEMAS.update(schema.pop("$defs", {}))
    _NESTED_SCHEMAS[model.__name__] = schema
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def _parse(model: type[BaseModel], body: bytes) -> Any:
    """``body`` as ``model``; a 422 naming the first bad field otherwise."""
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RefusedError(422, "invalid", f"{where}: {first['msg']}" if where else first["msg"]) from None


def _responses(*codes: int) -> dict:
    return {c: {"model": Problem} for c in codes}


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RefusedError(413, "too_large", f"body of {declared} bytes is over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RefusedError(413, "too_large", f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _target(request: Request) -> str:
    """The request target as the device signed it: raw path plus query string."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def create_app(store: HubStore, publisher: Publisher) -> FastAPI:
    """The hub's ASGI app on an opened store and publisher."""
    app = FastAPI(title="Gatekeeper hub", version=__version__,
                  description="Device enrolment, passage-log upload, signed lists, admin. "
                              "See docs/sync-protocol.md for signing and batch semantics.")
    inflight = threading.BoundedSemaphore(MAX_INFLIGHT_BATCHES)

    app.add_middleware(HubTimeAndLimit)

    @app.exception_handler(RefusedError)
    async def refused(_: Request, e: RefusedError) -> JSONResponse:
        headers = {"Retry-After": "1"} if e.status == 429 else None
        return _problem(e.status, e.code, e.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _problem(422, "invalid", f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return _problem(e.status_code, "http", str(e.detail))

    async def authenticate(request: Request, body: bytes, enrolling: PublicKey | None = None) -> Device | None:
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
        if not sig.verify(key, request.method, _target(request), body):
            raise RefusedError(401, "bad_signature", "signature does not verify for this device, request and body")
        if not await run_in_threadpool(store.use_nonce, sig.device, sig.nonce, now):
            raise RefusedError(401, "replay", "nonce already used: a replayed request is refused")
        return dev

    # --- device endpoints ---------------------------------------------------------------------------
    @app.post(PATH_ENROL, response_model=EnrolReply, status_code=201, responses=_responses(401, 403, 409, 413, 422),
              summary="Enrol a device key with a one-time token (signed with that key)",
              openapi_extra=_json_body(EnrolRequest))
    async def enrol(request: Request) -> EnrolReply:
        # Parsed here, not by FastAPI: the signature covers the raw bytes, read within a small limit.
        body = await _read_body(request, MAX_ENROL_BYTES)
        req = _parse(EnrolRequest, body)
        try:
            public = PublicKey.from_raw(unb64(req.public_key))
        except ValueError:
            raise RefusedError(422, "invalid", "public_key must be a raw 32-byte Ed25519 key in base64url") from None
        await authenticate(request, body, enrolling=public)
        dev = await run_in_threadpool(store.enrol, req.token, public, req.gate_id)
        meta = store.meta
        return EnrolReply(device_id=dev.device_id, gate_id=dev.gate_id, hub_time=time.time(),
                          authority_key=meta("authority_pem"), scope=meta("site_scope"), site_name=meta("site_name"))

    @app.post(PATH_LOG, response_model=Ack, responses=_responses(400, 401, 403, 413, 415, 422, 429),
              summary="Upload a batch of passage-log rows (gzip'd JSON, idempotent on device and seq)",
              openapi_extra=_json_body(Batch))
    async def upload(request: Request) -> Any:
        body = await _read_body(request, MAX_BODY_BYTES)
        dev = await authenticate(request, body)
        assert dev is not None
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype != "application/json":
            raise RefusedError(415, "media_type", "a batch is application/json (optionally Content-Encoding: gzip)")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            try:
                body = inflate(body, MAX_INFLATED_BYTES)
            except OverflowError as e:
                raise RefusedError(413, "too_large", str(e)) from None
            except ValueError as e:
                raise RefusedError(400, "bad_gzip", str(e)) from None
        elif encoding != "identity":
            raise RefusedError(415, "media_type", f"Content-Encoding {encoding!r} not supported (gzip or none)")
        batch = _parse(Batch, body)
        if not inflight.acquire(blocking=False):
            raise RefusedError(429, "busy", "the hub is storing many batches: retry after Retry-After seconds")
        try:
            return await run_in_threadpool(store.ingest, dev, batch, time.time())
        finally:
            inflight.release()

    @app.get(PATH_LISTS, responses={200: {"content": {LIST_MEDIA_TYPE: {}},
                                          "description": "A CBOR array of signed list files to apply in order"},
                                    304: {"description": "The device holds the current lists"},
                                    **_responses(401, 403, 422)},
             summary="The list files that bring a device from the versions it holds to the current ones")
    async def lists(request: Request,
                    trust: Annotated[int, Query(ge=0, le=2**40, description="Trust list version held (0: none)")] = 0,
                    revocations: Annotated[int, Query(ge=0, le=2**40, description="Revocation version held")] = 0,
                    ) -> Response:
        await authenticate(request, await _read_body(request, 0))
        tag, files = await run_in_threadpool(publisher.reply, trust, revocations)
        headers = {"ETag": tag}
        fresh = await run_in_threadpool(publisher.freshness)
        if fresh:
            headers[H_FRESHNESS] = fresh
        if not files or request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        import cbor2
        return Response(cbor2.dumps(files), media_type=LIST_MEDIA_TYPE, headers=headers)

    @app.get("/v1/health", response_model=Health, summary="Liveness and the published list versions (no auth)")
    async def health() -> Health:
        t, r = await run_in_threadpool(store.latest_versions)
        return Health(status="ok", version=__version__, hub_time=time.time(), trust_version=t, revocation_version=r,
                      can_sign=publisher.can_sign)

    # --- admin endpoints ----------------------------------------------------------------------------
    async def admin(request: Request) -> None:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not token or not await run_in_threadpool(store.is_admin, token):
            raise RefusedError(401, "admin_only", "an admin token is required (Authorization: Bearer ...; "
                               "make one with 'gatekeeper hub admin-token')")

    def _signer() -> None:
        if not publisher.can_sign:
            raise RefusedError(409, "cannot_sign", "this hub runs without the site directory and cannot sign lists: "
                               "send the change to the hub started with --site")

    @app.post("/v1/admin/enrol-tokens", response_model=TokenReply, status_code=201, responses=_responses(401, 422),
              summary="Make a one-time enrolment token")
    async def make_token(request: Request, req: TokenRequest) -> TokenReply:
        await admin(request)
        now = time.time()
        token = await run_in_threadpool(store.create_enrol_token, req.gate_id, req.ttl_s, now)
        return TokenReply(token=token, gate_id=req.gate_id, expires_at=now + req.ttl_s)

    @app.get("/v1/admin/devices", responses=_responses(401), summary="Enrolled devices and their acks")
    async def list_devices(request: Request) -> list[dict]:
        await admin(request)
        return await run_in_threadpool(store.devices)

    @app.post("/v1/admin/devices/{device}/revoke", status_code=204, responses=_responses(401, 404, 422),
              summary="Refuse every further request of a device")
    async def revoke_device(request: Request,
                            device: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]) -> Response:
        await admin(request)
        if not await run_in_threadpool(store.revoke_device, device):
            raise RefusedError(404, "unknown_device", f"no device {device}")
        return Response(status_code=204)

    @app.post("/v1/admin/revocations", response_model=VersionReply, responses=_responses(401, 409, 422),
              summary="Revoke a pass (or turn it red/yellow) in a new signed revocation version")
    async def revoke_pass(request: Request, req: RevokeRequest) -> VersionReply:
        await admin(request)
        _signer()
        since = req.since if req.since is not None else int(time.time())
        v = await run_in_threadpool(publisher.revoke, bytes.fromhex(req.pass_id), EntryState[req.state.upper()], since)
        return VersionReply(version=v)

    @app.delete("/v1/admin/revocations/{pass_id}", response_model=VersionReply, responses=_responses(401, 409, 422),
                summary="Reinstate a pass in a new signed revocation version")
    async def lift_pass(request: Request, pass_id: Annotated[str, Path(pattern=rf"^[0-9a-f]{{{2 * PASS_ID_LEN}}}$")]
                        ) -> VersionReply:
        await admin(request)
        _signer()
        return VersionReply(version=await run_in_threadpool(publisher.lift, bytes.fromhex(pass_id)))

    @app.get("/v1/admin/log", responses={200: {"content": {t: {} for t in export.FORMATS.values()}},
                                         **_responses(401, 422)},
             summary="Export passage logs as JSON lines or CSV, by gate and decision time")
    async def export_log(request: Request,
                         gate_id: Annotated[str | None, Query(pattern=GATE_ID)] = None,
                         since: Annotated[float | None, Query(ge=0, le=1e11)] = None,
                         until: Annotated[float | None, Query(ge=0, le=1e11)] = None,
                         format: Literal["jsonl", "csv"] = "jsonl") -> StreamingResponse:
        await admin(request)
        rows = store.export(gate_id, since, until)
        return StreamingResponse(iterate_in_threadpool(export.render(rows, format)), media_type=export.FORMATS[format])

    plain_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = plain_openapi()
            spec.setdefault("components", {}).setdefault("schemas", {}).update(_NESTED_SCHEMAS)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from(db_url: str, site_dir: str | None) -> FastAPI:
    """The app for a database URL and an optional site directory (the signer)."""
    store = HubStore.open(db_url)
    publisher = Publisher(store, Site.open(site_dir) if site_dir else None)
    return create_app(store, publisher)


def openapi_json(app: FastAPI) -> str:
    """The spec as checked into docs/openapi.json (stable key order, trailing newline)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
