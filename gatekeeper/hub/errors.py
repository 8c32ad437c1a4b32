"""Refusals: one exception for every "no" the hub says, and the one JSON body it is sent as.

Every refusal is a 4xx with ``{"error": code, "message": text, "hub_time": t}``; the codes are
listed in docs/sync-protocol.md (a test keeps that table equal to the codes raised here and in
the routers).
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gatekeeper.wire import H_HUB_TIME


class Problem(BaseModel):
    """Every refusal's body."""

    error: str
    message: str
    hub_time: float


class RefusedError(Exception):
    """An operation refused for a reason the caller must hear: ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def problem(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    """A refusal as a response."""
    return JSONResponse({"error": code, "message": message, "hub_time": time.time()}, status, headers=headers)


async def send_problem(send: Any, status: int, code: str, message: str, retry_after: int | None = None) -> None:
    """A refusal sent straight from ASGI middleware, before any endpoint runs."""
    now = time.time()
    body = json.dumps({"error": code, "message": message, "hub_time": now}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (H_HUB_TIME.lower().encode(), f"{now:.3f}".encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def responses(*codes: int) -> dict:
    """The OpenAPI ``responses`` entry for the refusals an endpoint can answer."""
    return {c: {"model": Problem} for c in codes}


def parse_body(model: type[BaseModel], body: bytes) -> Any:
    """``body`` as ``model``; a 422 naming the first bad field otherwise."""
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RefusedError(422, "invalid", f"{where}: {first['msg']}" if where else first["msg"]) from None


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise answered as a :class:`Problem`."""

    @app.exception_handler(RefusedError)
    async def refused(_: Request, e: RefusedError) -> JSONResponse:
        headers = None
        if e.status == 429 or e.retry_after is not None:
            headers = {"Retry-After": str(max(1, round(e.retry_after or 1)))}
        return problem(e.status, e.code, e.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(422, "invalid", f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return problem(e.status_code, "http", str(e.detail))
