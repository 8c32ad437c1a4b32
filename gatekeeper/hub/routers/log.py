"""The passage log: devices upload batches; admins export."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from gatekeeper.hub import export
from gatekeeper.hub.auth import Admin, SignedDevice, Store
from gatekeeper.hub.errors import RefusedError, parse_body, responses
from gatekeeper.hub.routers.devices import GATE_ID
from gatekeeper.hub.routers.openapi import json_body
from gatekeeper.wire import MAX_INFLATED_BYTES, PATH_LOG, Ack, Batch, inflate

#: Batches stored at once per hub process; more get 429 + Retry-After (load shedding, not queueing).
MAX_INFLIGHT_BATCHES = 16

router = APIRouter()
_inflight = threading.BoundedSemaphore(MAX_INFLIGHT_BATCHES)


@router.post(PATH_LOG, response_model=Ack, responses=responses(400, 401, 403, 413, 415, 422, 429),
             summary="Upload a batch of passage-log rows (gzip'd JSON, idempotent on device and seq)",
             openapi_extra=json_body(Batch))
async def upload(request: Request, dev: SignedDevice, store: Store) -> Any:
    body = await request.body()
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
    batch = parse_body(Batch, body)
    if not _inflight.acquire(blocking=False):
        raise RefusedError(429, "busy", "the hub is storing many batches: retry after Retry-After seconds")
    try:
        return await run_in_threadpool(store.ingest, dev, batch, time.time())
    finally:
        _inflight.release()


@router.get("/v1/admin/log", responses={200: {"content": {t: {} for t in export.FORMATS.values()}},
                                        **responses(401, 422)},
            summary="Export passage logs as JSON lines or CSV, by gate and decision time")
async def export_log(store: Store, _: Admin,
                     gate_id: Annotated[str | None, Query(pattern=GATE_ID)] = None,
                     since: Annotated[float | None, Query(ge=0, le=1e11)] = None,
                     until: Annotated[float | None, Query(ge=0, le=1e11)] = None,
                     format: Literal["jsonl", "csv"] = "jsonl") -> StreamingResponse:
    rows = store.export(gate_id, since, until)  # a generator: its pages are read in the thread pool
    return StreamingResponse(iterate_in_threadpool(export.render(rows, format)), media_type=export.FORMATS[format])
