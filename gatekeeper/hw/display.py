"""The volunteer display: a small HTTP server on loopback for a full-screen browser.

Routes: ``/`` the page, ``/events`` server-sent events (``result`` on every decision, ``status``
every couple of seconds), ``/status`` health as JSON, ``/metrics`` Prometheus text.

The page shows the last pass id and label: bound to anything but loopback, every route then needs
the display token (``?token=TOKEN`` or ``Authorization: Bearer TOKEN``).

The stdlib ``ThreadingHTTPServer`` in a daemon thread is enough here: one browser on the Pi, a
scrape now and then, and no dependency to install on the gate.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from gatekeeper.hw.reasons import REASON_TEXT, UNKNOWN_REASON

#: How often each open page gets a ``status`` event; it doubles as the keep-alive.
STATUS_INTERVAL = 2.0
#: More open event streams than this are refused: each one holds a thread.
MAX_EVENT_CLIENTS = 16


def is_loopback(bind: str) -> bool:
    """Whether ``bind`` (an address or host name) reaches only this machine."""
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False  # a host name or "" (every address): reachable from the network


class DisplayServer:
    """Serve the volunteer page, its event stream, ``/status`` and ``/metrics``.

    ``status()`` returns the device's health as a JSON-able dict; the page shows these keys when
    present: ``list_age_seconds`` (float or None), ``clock_trusted`` (bool), ``log_backlog``
    (int), ``frame_rate`` (float), and the sync parts' ``upload`` and ``lists_sync`` dicts (disk
    alarm, quarantine, last errors, last list change). ``metrics()`` returns Prometheus text (see
    ``Metrics.render``). Both are called from server threads and must be thread-safe and quick. ``hold_seconds`` is
    how long the page shows a result before it asks for the next pass. ``token``, when given, is
    required on every route; a ``bind`` that is not loopback without one is a ValueError.
    ``timezone`` (an IANA name) is the zone the page shows times in.
    """

    def __init__(
        self,
        bind: str = "127.0.0.1",
        port: int = 8080,
        *,
        status: Callable[[], dict[str, Any]] = dict,
        metrics: Callable[[], str] = str,
        hold_seconds: float = 8.0,
        token: str | None = None,
        timezone: str | None = None,
    ) -> None:
        if not token and not is_loopback(bind):
            raise ValueError(f"the display on {bind!r} would show pass ids and labels to the network: "
                             "give it a token or bind it to 127.0.0.1")
        self.token = token or None
        self.timezone = timezone  # IANA name the page shows times in; None: the browser's
        self._address = (bind, port)
        self.status = status
        self.metrics = metrics
        self.hold_seconds = hold_seconds
        self._changed = threading.Condition()
        self._seq = 0
        self._last: dict[str, Any] | None = None
        self._last_at = 0.0  # monotonic time of the last publish: the Pi's wall clock may jump
        self._stopping = False
        self._clients = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._page = resources.files("gatekeeper.hw").joinpath("display.html").read_text("utf-8")

    @property
    def url(self) -> str:
        """The base URL, with the real port once started (``port=0`` picks a free one)."""
        host, port = self._server.server_address[:2] if self._server else self._address
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Bind and serve in a daemon thread; raises OSError if the port is taken."""
        server = ThreadingHTTPServer(self._address, _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.display = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="display-http", daemon=True)
        self._thread.start()

    def publish(self, result: dict[str, Any]) -> None:
        """Show a decision: ``allow``, ``reason``, ``pass_id``, ``label``, ``at``, ``latency_ms``."""
        shown = {k: result.get(k) for k in ("allow", "reason", "pass_id", "label", "at",
                                             "latency_ms")}
        shown["allow"] = bool(shown["allow"])
        with self._changed:
            self._seq += 1
            self._last = shown
            self._last_at = time.monotonic()
            self._changed.notify_all()

    def stop(self) -> None:
        """Close every event stream and the listening socket."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # -- used by the request handler -------------------------------------------------------

    def _snapshot(self) -> tuple[int, dict[str, Any] | None]:
        with self._changed:
            if self._last is None:
                return self._seq, None
            age = time.monotonic() - self._last_at
            return self._seq, {**self._last, "age_seconds": round(age, 3)}

    def _wait(self, seq: int, timeout: float) -> bool:
        """Wait until a result newer than ``seq`` or stop; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._seq != seq or self._stopping, timeout)

    def _safe_status(self) -> dict[str, Any]:
        try:
            return dict(self.status())
        except Exception as exc:  # noqa: BLE001  the page must keep working when a health probe fails
            return {"error": f"{type(exc).__name__}: {exc}"}

    def _render_page(self) -> bytes:
        state = {
            "last": self._snapshot()[1],
            "status": self._safe_status(),
            "reasons": REASON_TEXT,
            "unknown": UNKNOWN_REASON,
            "hold_seconds": self.hold_seconds,
            "timezone": self.timezone,
        }
        # "<" escaped so that no label or pass id can close the <script> element.
        data = json.dumps(state, ensure_ascii=False).replace("<", "\\u003c")
        return self._page.replace("/*STATE*/null", data).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server_version = "gatekeeper-display"

    @property
    def display(self) -> DisplayServer:
        return self.server.display  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request on the Pi's journal would drown the decisions

    def _authorised(self, query: str) -> bool:
        token = self.display.token
        if token is None:
            return True
        given = parse_qs(query).get("token", [""])[0]
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            given = header.removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), token.encode())

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            if not self._authorised(query):
                self._send(HTTPStatus.UNAUTHORIZED, "text/plain; charset=utf-8",
                           b"the display token is needed: add ?token=TOKEN to the address, or send "
                           b"'Authorization: Bearer TOKEN' (display.token in the gate's configuration)\n")
            elif path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", self.display._render_page())
            elif path == "/status":
                _, last = self.display._snapshot()
                body = {**self.display._safe_status(), "last_result": last}
                self._send(HTTPStatus.OK, "application/json",
                           json.dumps(body, ensure_ascii=False).encode("utf-8"))
            elif path == "/metrics":
                self._send(HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                           self.display.metrics().encode("utf-8"))
            elif path == "/events":
                self._events()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8",
                           b"not found: try /, /events, /status or /metrics\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away mid-answer; nothing to clean up

    def _send(self, code: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        display = self.display
        with display._changed:
            if display._clients >= MAX_EVENT_CLIENTS:
                full = True
            else:
                full = False
                display._clients += 1
        if full:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                       b"too many open event streams\n")
            return
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            # retry: reconnect within a second when the daemon restarts
            self._event("status", display._safe_status(), retry=1000)
            seq, last = display._snapshot()
            if last is not None:
                self._event("result", last)
            next_status = time.monotonic() + STATUS_INTERVAL
            while not display._stopping:
                if display._wait(seq, max(0.0, next_status - time.monotonic())):
                    seq, last = display._snapshot()
                    if last is not None and not display._stopping:
                        self._event("result", last)
                if time.monotonic() >= next_status:
                    self._event("status", display._safe_status())
                    next_status = time.monotonic() + STATUS_INTERVAL
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        finally:
            with display._changed:
                display._clients -= 1

    def _event(self, name: str, data: Any, retry: int | None = None) -> None:
        text = f"retry: {retry}\n" if retry else ""
        text += f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        self.wfile.write(text.encode("utf-8"))
        self.wfile.flush()
