"""The volunteer display: page colours in real headless Chromium, SSE latency, /status, /metrics."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import pytest

from gatekeeper.hw.display import DisplayServer
from gatekeeper.hw.metrics import GAUGES, Metrics
from gatekeeper.hw.reasons import UNKNOWN_REASON, reason_text
from gatekeeper.verify import Reason
from tests.kit.core import wait_until

CHROMIUM = "/usr/bin/chromium"
HEALTH = {"list_age_seconds": 420.0, "clock_trusted": True, "log_backlog": 7, "frame_rate": 29.8}
ALLOW = {"allow": True, "reason": "ok", "pass_id": "p1", "label": "3-201",
         "at": "2025-03-01T08:00:00+08:00", "latency_ms": 4.2}
DENY = {"allow": False, "reason": "revoked", "pass_id": "p2", "label": None,
        "at": "2025-03-01T08:00:05+08:00", "latency_ms": 3.9}


@pytest.fixture
def metrics() -> Metrics:
    m = Metrics()
    for reason in ("ok", "ok", "revoked", 'we"ird\\reason\n'):
        m.count_decision(reason)
    for seconds in (0.001, 0.002, 0.004):
        m.observe_decode(seconds)
    m.set_gauge("frame_rate", 29.8)
    m.set_gauge("log_backlog", 7)
    m.set_gauge("clock_trusted", True)
    return m


@pytest.fixture
def display(metrics) -> Iterator[DisplayServer]:
    server = DisplayServer(port=0, status=lambda: dict(HEALTH), metrics=metrics.render)
    server.start()
    yield server
    server.stop()


def screenshot_colour(url: str, tmp_path: Path, name: str) -> tuple[int, int, int]:
    """Load the page in headless Chromium; return the RGB colour inside the result field."""
    png = tmp_path / f"{name}.png"
    profile = tmp_path / f"profile-{name}"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
         "--window-size=800,480", f"--screenshot={png}", url],
        check=True, capture_output=True, timeout=60,
    )
    image = cv2.imread(str(png))
    assert image is not None, f"no screenshot at {png}"
    height, width = image.shape[:2]
    # A corner of the result field: clear of the text in its middle and of the footer below.
    b, g, r = (int(v) for v in image[height // 10, width // 20])
    return r, g, b


@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_page_colour_in_real_browser(display, tmp_path):
    display.publish(ALLOW)
    r, g, b = screenshot_colour(display.url + "/", tmp_path, "allow")
    assert g > 100 and g > 2 * r and g > 2 * b, f"allow should be green, got {(r, g, b)}"

    display.publish(DENY)
    r, g, b = screenshot_colour(display.url + "/", tmp_path, "deny")
    assert r > 150 and r > 3 * g, f"deny should be red, got {(r, g, b)}"


def test_page_has_every_reason_and_escapes_labels(display):
    display.publish({**ALLOW, "label": "</script><script>alert(1)</script>"})
    html = httpx.get(display.url + "/").text
    assert "</script><script>alert" not in html
    state = re.search(r"const STATE = (.*);\n", html)
    assert state is not None
    data = json.loads(state.group(1))
    assert data["last"]["label"] == "</script><script>alert(1)</script>"
    # every reason the core can decide has its own text on the page, and the daemon's log_failed alarm
    assert set(data["reasons"]) == {r.value for r in Reason} | {"log_failed"}
    assert all(tuple(data["reasons"][r.value]) != UNKNOWN_REASON and all(data["reasons"][r.value])
               for r in Reason)
    assert all(reason_text(r.value) == tuple(data["reasons"][r.value]) for r in Reason)
    assert data["reasons"]["revoked"] == ["已撤销", "Revoked"]


def test_status_json(display):
    response = httpx.get(display.url + "/status")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert {k: body[k] for k in HEALTH} == HEALTH
    assert body["last_result"] is None
    display.publish(DENY)
    assert httpx.get(display.url + "/status").json()["last_result"]["reason"] == "revoked"


def test_status_survives_a_failing_probe():
    def broken() -> dict:
        raise RuntimeError("store locked")

    server = DisplayServer(port=0, status=broken)
    server.start()
    try:
        assert "store locked" in httpx.get(server.url + "/status").json()["error"]
        assert httpx.get(server.url + "/").status_code == 200
    finally:
        server.stop()


# One sample line of the text format: name, optional labels, a value.
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})?'
                    r' (NaN|[+-]Inf|-?[0-9.]+(e[+-]?[0-9]+)?)$')


def test_metrics_parse_as_prometheus_text(display):
    response = httpx.get(display.url + "/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert text.endswith("\n")
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "summary")
            types[name] = kind
        elif line.startswith("# HELP "):
            continue
        else:
            assert SAMPLE.match(line), f"not a Prometheus sample: {line!r}"
    assert types["gatekeeper_decisions_total"] == "counter"
    assert types["gatekeeper_decode_seconds"] == "summary"
    assert 'gatekeeper_decisions_total{reason="ok"} 2' in text
    assert 'gatekeeper_decode_seconds{quantile="0.5"} 0.002' in text
    assert "gatekeeper_decode_seconds_count 3" in text
    assert "gatekeeper_log_backlog_rows 7.0" in text
    assert "gatekeeper_list_age_seconds" not in text  # unset gauges are left out


def test_metrics_unknown_gauge():
    with pytest.raises(KeyError):
        Metrics().set_gauge("nope", 1)
    assert set(GAUGES) >= {"frame_rate", "log_backlog", "list_age_seconds", "clock_trusted"}


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name:
            yield name, json.loads(line[6:])


def test_sse_delivers_each_result(display):
    # How fast is a benchmark's question (tools/), not a test's: here, each result arrives, in order.
    with httpx.stream("GET", display.url + "/events", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
        assert next(events) == ("status", HEALTH)
        for result in (ALLOW, DENY):
            display.publish(result)
            name, data = next(events)
            while name == "status":  # a periodic status event may come first
                name, data = next(events)
            assert name == "result" and {k: data[k] for k in result} == result


def test_many_clients_and_disconnects_do_not_break_server(display):
    # Clients that connect and vanish without reading, some mid-stream.
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", int(display.url.rsplit(":", 1)[1]))) as s:
            s.sendall(b"GET /events HTTP/1.0\r\n\r\n")
    streams = [httpx.stream("GET", display.url + "/events", timeout=5) for _ in range(8)]
    responses = [s.__enter__() for s in streams]
    iterators = [read_events(r) for r in responses]
    for it in iterators:
        assert next(it)[0] == "status"
    display.publish(ALLOW)
    for it in iterators:
        assert next(it)[0] == "result"
    for s in streams:
        s.__exit__(None, None, None)
    display.publish(DENY)  # written to closed sockets: must not raise here
    # every stream's thread met its closed socket and ended cleanly (the next status event at the latest)
    assert wait_until(lambda: display._clients == 0, 15)
    assert httpx.get(display.url + "/status").status_code == 200


def test_unknown_path_is_404(display):
    assert httpx.get(display.url + "/nope").status_code == 404


def test_port_zero_reports_real_port():
    server = DisplayServer(port=0)
    server.start()
    try:
        assert not server.url.endswith(":0")
        assert httpx.get(server.url + "/status").status_code == 200
    finally:
        server.stop()
