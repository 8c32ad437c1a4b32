"""Fixtures for the console part 2 tests: a site, a hub database (SQLite, and PostgreSQL when the
machine has it), a real hub started with extra ``serve`` options, and a webhook receiver."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from gatekeeper.admin.site import Site
from tests.console.conftest import page  # noqa: F401 -- a page in the session's chromium, as in the console tests
from tests.kit.hub import HubProcess


@pytest.fixture
def site(tmp_path) -> Site:
    return Site.init(tmp_path / "site", scope="demo", now=time.time() - 3600, timezone="Asia/Shanghai")


class Receiver:
    """A webhook receiver on 127.0.0.1: every POST's headers and body, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.calls.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def payloads(self) -> list[dict]:
        return [json.loads(b) for _, b in self.calls]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


SECRET = b"0123456789abcdef-test-secret"


@pytest.fixture
def start_hub(db_url, site, tmp_path) -> Iterator[Callable[..., HubProcess]]:
    """Start a hub on the site with extra ``serve`` options; stopped at the end."""
    started: list[HubProcess] = []
    (tmp_path / "secret").write_bytes(SECRET)

    def start(*args: str) -> HubProcess:
        h = HubProcess(db_url, site.root, args=[a.replace("{secret}", str(tmp_path / "secret")) for a in args])
        started.append(h.start())
        return h

    yield start
    for h in started:
        h.stop()
