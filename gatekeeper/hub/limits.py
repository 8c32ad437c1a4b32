"""ASGI middleware in front of every route: the hub's clock on every reply, and body-size limits.

The limit is enforced here and only here, before any endpoint (or FastAPI's body parsing) reads a
byte, so an unauthenticated client cannot make the hub buffer a huge body. Endpoints then read the
body with ``await request.body()``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from gatekeeper.hub.errors import RefusedError, send_problem
from gatekeeper.wire import H_HUB_TIME, MAX_BODY_BYTES


class HubTimeAndLimit:
    """A ``GK-Hub-Time`` header on every reply, and no body over its path's limit (413)."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES, per_path: Mapping[str, int] | None = None) -> None:
        self.app, self.limit, self.per_path = app, limit, dict(per_path or {})

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope.get("path", ""), self.limit)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await send_problem(send, 413, "too_large", f"body over the limit of {limit} bytes")
                return
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RefusedError(413, "too_large", f"body over the limit of {limit} bytes")
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
            await send_problem(send, e.status, e.code, e.message)
