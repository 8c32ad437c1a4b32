"""Hostile and broken requests: 4xx with a message, nothing stored; 429 and quarantine on the device."""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from gatekeeper.gate import Uploader
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import PrivateKey
from gatekeeper.wire.batch import encode_batch, take_within
from gatekeeper.wire.protocol import (
    H_HUB_TIME,
    H_SIGNATURE,
    PATH_LOG,
    b64,
    sign_request,
)
from tests.kit.hub import enrolled_device, log_row, make_device


def batch_body(n: int = 3, prev: int = 0) -> bytes:
    rows = [dict(log_row(), seq=prev + i + 1) for i in range(n)]
    return encode_batch(prev, prev + n, take_within(rows, 10**9), time.monotonic(), "b")


def post(url: str, key: PrivateKey, body: bytes, *, ts: float | None = None, headers: dict | None = None,
         sign_body: bytes | None = None, target: str = PATH_LOG) -> httpx.Response:
    signed = sign_request(key, "POST", target, body if sign_body is None else sign_body, int(ts or time.time()))
    h = {"Content-Type": "application/json", "Content-Encoding": "gzip", **signed, **(headers or {})}
    return httpx.post(url + PATH_LOG, content=body, headers=h, timeout=10)


def stored(hub) -> int:
    s = HubStore.open(hub.db_url)
    try:
        return s.count_rows()
    finally:
        s.close()


@pytest.fixture
def dev(hub, site, tmp_path):
    return enrolled_device(tmp_path, site, hub)


def test_good_request_is_stored(hub, dev):
    r = post(hub.url, dev.key, batch_body())
    assert r.status_code == 200 and r.json()["ack"] == 3 and stored(hub) == 3


@pytest.mark.parametrize("case", ["bad_signature", "other_body", "unknown_device", "stale", "unsigned",
                                  "garbage_gzip", "malformed_json", "wrong_fields", "bad_order", "oversized",
                                  "gzip_bomb", "media_type"])
def test_refused_with_message_and_nothing_stored(hub, dev, case):
    body, key, kw = batch_body(), dev.key, {}
    if case == "bad_signature":
        kw["headers"] = {H_SIGNATURE: b64(b"\x01" * 64)}
    elif case == "other_body":
        kw["sign_body"] = batch_body(5)
    elif case == "unknown_device":
        key = PrivateKey.generate()
    elif case == "stale":
        kw["ts"] = time.time() - 3600
    elif case == "unsigned":
        kw["headers"] = {H_SIGNATURE: ""}
    elif case == "garbage_gzip":
        body = b"\x1f\x8b not gzip at all"
    elif case == "malformed_json":
        body = gzip.compress(b'{"prev": 0, "last": ')
    elif case == "wrong_fields":
        body = gzip.compress(json.dumps({"prev": 0, "last": 1, "sent_mono": 1, "sent_boot_id": "b",
                                         "rows": [{"seq": 1, "evil": True}]}).encode())
    elif case == "bad_order":
        rows = [dict(log_row(), seq=s) for s in (2, 1)]
        body = encode_batch(0, 2, take_within(rows, 10**9), 1.0, "b")
    elif case == "oversized":
        body = b"\x00" * (5 * 1024 * 1024)
    elif case == "gzip_bomb":
        body = gzip.compress(b" " * (40 * 1024 * 1024))
    elif case == "media_type":
        kw["headers"] = {"Content-Type": "text/plain"}
    r = post(hub.url, key, body, **kw)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    problem = r.json()
    assert problem["error"] and problem["message"] and problem["hub_time"]
    if case == "stale":
        assert r.status_code == 401 and problem["error"] == "stale_time"
        assert abs(float(r.headers[H_HUB_TIME]) - time.time()) < 5  # the device can sign with this
    if case == "oversized":
        assert r.status_code == 413
    assert stored(hub) == 0


def test_replay_is_refused(hub, dev):
    body = batch_body()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               **sign_request(dev.key, "POST", PATH_LOG, body, int(time.time()))}
    assert httpx.post(hub.url + PATH_LOG, content=body, headers=headers).status_code == 200
    r = httpx.post(hub.url + PATH_LOG, content=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "replay"


def test_revoked_device_is_refused(hub, dev, admin_token):
    r = httpx.post(f"{hub.url}/v1/admin/devices/{dev.key.public.kid.hex()}/revoke",
                   headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 204
    r = post(hub.url, dev.key, batch_body())
    assert r.status_code == 403 and r.json()["error"] == "device_revoked" and stored(hub) == 0


def test_device_with_a_wrong_clock_gets_through(hub, dev):
    with dev.store() as s:
        s.log(log_row())
    up = Uploader(*dev.sync_args())
    up.client.offset = -7200.0  # the device's clock is two hours behind
    r = up.run_once()
    assert r.outcome == "sent" and r.acked == 1 and abs(up.client.offset) < 5
    up.close()


class _Stub(BaseHTTPRequestHandler):
    """A hub that answers every batch with one fixed status."""

    status, reply_headers, calls = 429, {"Retry-After": "7"}, 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"error": "x", "message": "stub says no", "hub_time": time.time()}).encode()
        self.send_response(self.status)
        for k, v in type(self).reply_headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.mark.parametrize("status,headers,outcome,min_delay", [
    (429, {"Retry-After": "7"}, "retry", 7), (503, {"Retry-After": "3"}, "retry", 3), (500, {}, "retry", 0),
    (400, {}, "quarantined", 0), (422, {}, "quarantined", 0),
    (200, {}, "retry", 0)])  # a 200 that is not an ack (a proxy's page) is tried again, not trusted
def test_device_reacts_to_status(stub, site, tmp_path, status, headers, outcome, min_delay):
    _Stub.status, _Stub.reply_headers, _Stub.calls = status, headers, 0
    dev = make_device(tmp_path, site, f"http://127.0.0.1:{stub.server_address[1]}", backoff_cap=2)
    with dev.store() as s:
        s.log(log_row())
    up = Uploader(*dev.sync_args())
    r = up.run_once()
    assert r.outcome == outcome and r.delay >= min_delay and _Stub.calls == 1
    if outcome == "retry":
        assert r.delay <= max(min_delay, 2)  # the cap bounds the jitter, Retry-After wins above it
        assert up.status()["upload"]["quarantine"] == []
    else:
        q = up.status()["upload"]
        assert q["quarantine"][0]["status"] == status and "stub says no" in q["quarantine_message"]
        # parked, not looping: the next attempt declares the parked range, the rows are kept on the device
        with dev.store() as s:
            assert [(p.first, p.last, p.rows) for p in s.parked()] == [(1, 1, 1)]
            assert s.conn.execute("SELECT seq, reason FROM quarantine_rows").fetchall() == [(1, "ok")]
    up.close()


def test_admin_endpoints_authenticate_before_they_validate(hub):
    """A stranger gets 401 and learns nothing of the body's schema (no 422 before the token is checked)."""
    for method, path, body in (("POST", "/v1/admin/revocations", {"pass_id": "nonsense"}),
                               ("POST", "/v1/admin/enrol-tokens", {"ttl_s": -5}),
                               ("POST", "/v1/admin/revocations", None)):
        r = httpx.request(method, hub.url + path, json=body, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "admin_only", (path, r.text)
