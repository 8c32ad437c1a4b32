"""The device's HTTP client for the hub: signs every request and follows the hub's clock.

A device may run with a wrong clock (no RTC, offline boot). Every hub reply carries ``GK-Hub-Time``;
the client keeps the offset between it and the local clock and signs later requests with the
hub's time, and when a request is refused as ``stale_time`` it corrects and retries once at once.
The offset is used only to sign requests: decisions keep to the store's time floor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from gatekeeper.verify import PrivateKey
from gatekeeper.wire import H_HUB_TIME, REPORT_PARAM, sign_request

log = logging.getLogger("gatekeeper.client")


@dataclass(frozen=True)
class Reply:
    """A hub reply, or a connection failure (``status`` 0).

    ``unsent``: no connection was made, so the request certainly never reached the hub (after a
    reset or a read timeout it may have, and may have been acted on).
    """

    status: int
    headers: httpx.Headers
    body: bytes
    error: str = ""
    unsent: bool = False

    def problem(self) -> tuple[str, str]:
        """(code, message) of a refusal body, or a generic pair."""
        try:
            import json
            obj = json.loads(self.body)
            return str(obj.get("error", "")), str(obj.get("message", ""))
        except (ValueError, AttributeError):
            return "", self.body[:200].decode("utf-8", "replace") or self.error


class HubClient:
    """Signed requests to one hub; one instance per thread (httpx clients are not shared here).

    ``report``, when given, makes the gate report (:mod:`gatekeeper.wire.report`) appended to every
    request's query, inside the signed target (None: no report this time).
    """

    def __init__(self, base_url: str, key: PrivateKey, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None,
                 report: Callable[[], str | None] | None = None) -> None:
        self.report = report
        self.base = base_url.rstrip("/")
        self.prefix = httpx.URL(self.base).path.rstrip("/")  # signed as part of the path
        self.key = key
        self.offset = 0.0  # hub time minus local time, learned from replies
        self.http = httpx.Client(timeout=timeout, transport=transport, headers={"User-Agent": "gatekeeper"})

    def close(self) -> None:
        self.http.close()

    def hub_now(self) -> float:
        return time.time() + self.offset

    def request(self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
        """Send one signed request (``target`` is path + query, e.g. ``/v1/lists?trust=1``)."""
        reply = self._send(method, target, body, headers)
        if reply.status == 401 and reply.problem()[0] == "stale_time":
            reply = self._send(method, target, body, headers)  # the offset was just corrected
        return reply

    def _reported(self, target: str) -> str:
        if self.report is None:
            return target
        try:
            text = self.report()
        except Exception:  # a report that cannot be made must never stop a poll or an upload
            log.exception("gate report failed; the request goes without it")
            return target
        if not text:
            return target
        return f"{target}{'&' if '?' in target else '?'}{REPORT_PARAM}={text}"

    def _send(self, method: str, target: str, body: bytes, headers: dict[str, str] | None) -> Reply:
        target = self._reported(target)
        signed = sign_request(self.key, method, self.prefix + target, body, int(self.hub_now()))
        sent = time.time()
        try:
            r = self.http.request(method, self.base + target, content=body or None,
                                  headers={**(headers or {}), **signed})
        except httpx.HTTPError as e:  # connection refused, reset, timeout: the hub is unreachable
            return Reply(0, httpx.Headers(), b"", f"{type(e).__name__}: {e}" if str(e) else type(e).__name__,
                         unsent=isinstance(e, httpx.ConnectError | httpx.ConnectTimeout))
        self._learn_time(r.headers.get(H_HUB_TIME), sent, time.time())
        return Reply(r.status_code, r.headers, r.content)

    def _learn_time(self, value: str | None, sent: float, received: float) -> None:
        try:
            hub = float(value) if value else None
        except ValueError:
            hub = None
        if hub is not None:
            self.offset = hub - (sent + received) / 2
