"""The passage log: devices upload batches; admins export."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from gatekeeper.hub import export
from gatekeeper.hub.audit import AuditAction
from gatekeeper.hub.auth import Limits, Reader, SignedUploadOf, Store
from gatekeeper.hub.errors import RefusedError, parse_body, responses
from gatekeeper.hub.limits import client_address
from gatekeeper.hub.passages import PASSAGE_COLUMNS, REASON, LogFilter
from gatekeeper.hub.routers.devices import GATE_ID
from gatekeeper.hub.routers.openapi import json_body
from gatekeeper.hub.store import Upload
from gatekeeper.wire import MAX_INFLATED_BYTES, PATH_LOG, Ack, Batch, inflate

router = APIRouter()


@router.post(PATH_LOG, response_model=Ack, responses=responses(400, 401, 403, 413, 415, 422, 429),
             summary="Upload a batch of passage-log rows (gzip'd JSON, idempotent on device and seq)",
             openapi_extra=json_body(Batch))
async def upload(request: Request, signed: SignedUploadOf, store: Store, limits: Limits) -> Any:
    # Admitted by the middleware's load shedding before any of this ran (limits.py).
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype != "application/json":
        raise RefusedError(415, "media_type", "a batch is application/json (optionally Content-Encoding: gzip)")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    body = signed.body
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
    return await limits.admission.store(store.ingest_many, Upload(signed.device, batch, time.time(), signed.nonce,
                                                                  signed.contact))


def log_stream(request: Request, actor: str, f: LogFilter, fmt: str, newest_first: bool) -> StreamingResponse:
    """The rows matching ``f`` streamed as ``fmt``; the export is recorded in the audit log (by ``actor``)."""
    state = request.app.state
    state.audit.record(actor, AuditAction.EXPORT, "passage_log", f"{fmt} {f}", client_address(request.scope))
    rows = state.passages.tuples(f, newest_first)  # a generator: its pages are read in the thread pool
    return StreamingResponse(iterate_in_threadpool(export.render(rows, fmt, PASSAGE_COLUMNS, state.site_zone)),
                             media_type=export.FORMATS[fmt])


class SeqConflict(BaseModel):
    """A version of a row that differed from the one the hub holds for the same (device, seq)."""

    device_id: str
    gate_id: str
    seq: int
    received_at: float = Field(description="When the hub first received this version.")
    digest: str = Field(description="SHA-256 of this version's fields: one entry per distinct version.")
    sent: dict[str, Any] = Field(description="This version's row fields (the batch row format).")
    held: dict[str, Any] | None = Field(description="The row the hub holds in its log for this (device, seq).")


@router.get("/v1/admin/seq-conflicts", response_model=list[SeqConflict], responses=responses(401, 403, 422),
            summary="Rows resent with the same (device, seq) but different content: both versions, newest first")
async def seq_conflicts(store: Store, _: Reader,
                        device_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{16}$")] = None,
                        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[SeqConflict]:
    found = await run_in_threadpool(store.seq_conflicts, device_id, limit)
    return [SeqConflict(**c) for c in found]


@router.get("/v1/admin/log", responses={200: {"content": {t: {} for t in export.FORMATS.values()}},
                                        **responses(401, 422)},
            summary="Export passage logs as JSON lines or CSV, oldest first, filtered")
async def export_log(request: Request, who: Reader,
                     gate_id: Annotated[str | None, Query(pattern=GATE_ID)] = None,
                     since: Annotated[float | None, Query(ge=0, le=1e11)] = None,
                     until: Annotated[float | None, Query(ge=0, le=1e11)] = None,
                     format: Literal["jsonl", "csv"] = "jsonl",
                     unit: Annotated[str | None, Query(min_length=1, max_length=64,
                                                       description="A unit's name: rows of its passes")] = None,
                     allow: Annotated[bool | None, Query(description="true: let in; false: refused")] = None,
                     reason: Annotated[str | None, Query(pattern=REASON)] = None) -> StreamingResponse:
    f = LogFilter(gate_id=gate_id, unit=unit, allow=allow, reason=reason, since=since, until=until)
    return await run_in_threadpool(log_stream, request, who.name, f, format, False)
