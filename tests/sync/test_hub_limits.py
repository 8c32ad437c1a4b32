"""Issue 15 item 5 and issue 17 item 2: rate limits per address and per device, the token TTL bound,
revoking admin tokens, and load shedding that refuses an upload before reading or checking it."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from click.testing import CliRunner

from gatekeeper.cli import main
from gatekeeper.gate.enrolment import EnrolError, enrol
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import PATH_LOG, sign_request
from gatekeeper.wire.batch import encode_batch, take_within
from tests.kit.core import wait_until
from tests.kit.hub import HubProcess, enrolled_device, log_row


def upload(hub: HubProcess, key: PrivateKey, prev: int = 0) -> httpx.Response:
    body = encode_batch(prev, prev + 1, take_within([dict(log_row(), seq=prev + 1)], 10**6), time.monotonic(), "b")
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               **sign_request(key, "POST", PATH_LOG, body, int(time.time()))}
    return httpx.post(hub.url + PATH_LOG, content=body, headers=headers, timeout=10)


@pytest.fixture
def limited_hub(sqlite_url, site):
    hub = HubProcess(sqlite_url, site.root, args=["--rate-limit", "enrol-address=3/minute",
                                                  "--rate-limit", "admin-address=3/minute",
                                                  "--rate-limit", "upload-device=3/minute"]).start()
    yield hub
    hub.stop()


def test_enrolment_is_rate_limited_per_address(limited_hub):
    for _ in range(3):
        with pytest.raises(EnrolError, match="token_unknown"):
            enrol(limited_hub.url, "gk1_guess", "gate-1", PrivateKey.generate())
    with pytest.raises(EnrolError, match="rate_limited"):
        enrol(limited_hub.url, "gk1_guess", "gate-1", PrivateKey.generate())


def test_failed_admin_authentication_is_rate_limited_per_address(limited_hub):
    store = HubStore.open(limited_hub.db_url)
    good = store.create_admin_token("ops")
    store.close()
    devices = f"{limited_hub.url}/v1/admin/devices"
    assert httpx.get(devices, headers={"Authorization": f"Bearer {good}"}).status_code == 200  # success: not counted
    for _ in range(3):
        assert httpx.get(devices, headers={"Authorization": "Bearer gk1_guess"}).status_code == 401
    r = httpx.get(devices, headers={"Authorization": f"Bearer {good}"})
    assert r.status_code == 429 and r.json()["error"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1


def test_uploads_are_rate_limited_per_device(limited_hub, site, tmp_path):
    one, two = (enrolled_device(tmp_path, site, limited_hub, gate_id=g) for g in ("gate-1", "gate-2"))
    assert [upload(limited_hub, one.key, prev).status_code for prev in range(3)] == [200, 200, 200]
    r = upload(limited_hub, one.key, 3)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited" and "Retry-After" in r.headers
    assert upload(limited_hub, two.key).status_code == 200  # another device is not held back


def test_a_bad_rate_limit_option_is_a_usage_error(sqlite_url):
    r = CliRunner().invoke(main, ["hub", "serve", "--db", sqlite_url, "--rate-limit", "uploads=lots"])
    assert r.exit_code == 2 and "upload-device" in r.output


def test_token_ttl_has_one_bound_in_the_cli_and_the_store(sqlite_url):
    r = CliRunner().invoke(main, ["hub", "token", "--db", sqlite_url, "--ttl", "31d"])
    assert r.exit_code == 2 and "30 days" in r.output
    assert CliRunner().invoke(main, ["hub", "token", "--db", sqlite_url, "--ttl", "30d"]).exit_code == 0
    store = HubStore.open(sqlite_url)
    try:
        with pytest.raises(ValueError, match="30 days"):
            store.create_enrol_token(None, 31 * 86400)
    finally:
        store.close()


def test_admin_token_revoke(hub):
    runner = CliRunner()
    token = runner.invoke(main, ["hub", "admin-token", "--db", hub.db_url, "--label", "laptop"]).output.strip()
    other = runner.invoke(main, ["hub", "admin-token", "--db", hub.db_url, "--label", "desk"]).output.strip()
    devices = f"{hub.url}/v1/admin/devices"
    assert httpx.get(devices, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = runner.invoke(main, ["hub", "admin-token", "--db", hub.db_url, "--revoke", token])
    assert r.exit_code == 0 and "revoked 1" in r.output
    assert httpx.get(devices, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert httpx.get(devices, headers={"Authorization": f"Bearer {other}"}).status_code == 200
    assert runner.invoke(main, ["hub", "admin-token", "--db", hub.db_url, "--revoke", "desk"]).exit_code == 0
    assert httpx.get(devices, headers={"Authorization": f"Bearer {other}"}).status_code == 401
    r = runner.invoke(main, ["hub", "admin-token", "--db", hub.db_url, "--revoke", "desk"])
    assert r.exit_code == 1 and "no admin token" in r.output


def stalled_upload(port: int, size: int) -> socket.socket:
    """An upload whose headers are sent and whose body never comes: it holds a place in the queue."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"POST {PATH_LOG} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {size}\r\n\r\n".encode())
    return s


def read_reply(s: socket.socket) -> str:
    """A whole HTTP reply (headers and the Content-Length body) from a socket, then closed."""
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(
            data.lower().split(b"content-length: ")[1].split(b"\r\n")[0]):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode()


def test_an_overloaded_hub_refuses_before_reading_or_checking_and_spreads_the_retries(sqlite_url, site, tmp_path):
    hub = HubProcess(sqlite_url, site.root, args=["--max-wait", "1"]).start()
    try:
        dev = enrolled_device(tmp_path, site, hub)
        held = [stalled_upload(hub.port, 1_000_000) for _ in range(8)]  # admitted: the queue is full
        try:
            waits = []
            for _ in range(20):
                # unsigned, and its body never sent: a 429 proves neither was looked at
                s = stalled_upload(hub.port, 1_000_000)
                reply = read_reply(s)
                assert reply.startswith("HTTP/1.1 429") and '"busy"' in reply
                waits.append(int(reply.lower().split("retry-after: ")[1].split("\r\n")[0]))
            # later in line, later back (each slot has +-20 % jitter: compare the ends of the line)
            assert min(waits) >= 1 and sum(waits[-5:]) > sum(waits[:5]), waits
        finally:
            for s in held:
                s.close()
        # the stalled uploads gone, the hub takes uploads again
        wait_until(lambda: upload(hub, dev.key).status_code == 200, timeout=10)
    finally:
        hub.stop()
