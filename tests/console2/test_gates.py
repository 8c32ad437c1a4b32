"""Gate reports reach the hub inside signed requests; the hub judges each gate ok / warning / offline,
records state changes, and alerts a webhook once per change (signed, retried)."""

from __future__ import annotations

import hashlib
import hmac

import cbor2
import httpx

from gatekeeper.gate.daemon import Daemon, DaemonOptions, EventSink
from gatekeeper.gate.store import Store
from gatekeeper.gate.updater import Updater
from gatekeeper.gate.uploader import Uploader
from gatekeeper.wire import GateReport, b64, decode_report, encode_report
from tests.console2.conftest import SECRET
from tests.kit.core import wait_until
from tests.kit.hub import enrolled_device, log_row
from tests.residents.phone import admin_token

FIELDS = {"gate_id", "last_seen", "state", "software_version", "trust_version", "revocation_version",
          "list_age_seconds", "clock_trusted", "log_backlog", "alarms"}


def gates(hub, token) -> dict[str, dict]:
    r = httpx.get(f"{hub.url}/v1/admin/gates", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    return {g["gate_id"]: g for g in r.json()}


def reporting(dev, report: GateReport) -> Updater:
    up = Updater(*dev.sync_args())
    up.report = lambda: encode_report(report)
    return up


def test_a_gate_that_stops_polling_turns_offline_and_fires_one_webhook(start_hub, site, tmp_path, receiver):
    hub = start_hub("--webhook", receiver.url, "--webhook-secret-file", "{secret}")
    token = admin_token(hub)
    dev = enrolled_device(tmp_path, site, hub, gate_id="north")
    quiet = enrolled_device(tmp_path, site, hub, gate_id="south")
    assert gates(hub, token)["north"]["state"] == "offline"  # enrolled, never heard from
    # poll_interval 0.4 s in the report: offline after 3 of them
    north = reporting(dev, GateReport(software_version="9.9.9", trust_version=1, revocation_version=1,
                                      list_age_seconds=5, clock_trusted=True, log_backlog=2, poll_interval=0.4))
    assert north.poll_once().outcome in ("unchanged", "applied")
    g = gates(hub, token)["north"]
    assert set(g) == FIELDS
    assert g["state"] == "ok" and g["software_version"] == "9.9.9" and g["log_backlog"] == 2 and g["alarms"] == []
    # it stops polling
    assert wait_until(lambda: gates(hub, token)["north"]["state"] == "offline", 15, 0.1)
    assert wait_until(lambda: len(receiver.calls) >= 1, 10, 0.05)
    headers, body = receiver.calls[0]
    stamp = headers["GK-Webhook-Time"]
    expected = "sha256=" + hmac.new(SECRET, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["GK-Webhook-Signature"] == expected
    first = receiver.payloads()[0]
    assert first["gate_id"] == "north" and first["state"] == "offline" and first["previous_state"] == "ok"
    assert first["reasons"] == ["no_contact"] and first["at"].endswith("+08:00")  # the site's zone
    # back: one more alert (ok), and exactly one offline alert in all
    north.poll_once()
    assert wait_until(lambda: len(receiver.calls) >= 2, 10, 0.05)
    assert [p["state"] for p in receiver.payloads()] == ["offline", "ok"]
    detail = httpx.get(f"{hub.url}/v1/admin/gates/north", headers={"Authorization": f"Bearer {token}"}).json()
    assert [e["new_state"] for e in detail["history"]] == ["ok", "offline", "ok"]
    assert quiet.gate_id not in {p["gate_id"] for p in receiver.payloads()}  # never heard from: no news
    north.close()


def test_a_failing_log_write_shows_warning_with_the_reason(start_hub, site, tmp_path):
    hub = start_hub()
    token = admin_token(hub)
    dev = enrolled_device(tmp_path, site, hub, gate_id="east")
    daemon = Daemon(dev.settings, EventSink(None), DaemonOptions(sync=False))
    with Store(dev.store_path, site.authority_public) as store:
        daemon._health = daemon._read_health(store)
    daemon.log_alarm = "passage log write failed: attempt to write a readonly database"
    up = Uploader(*dev.sync_args())
    up.report = daemon.report  # the daemon's own report, on a real upload
    with dev.store() as s:
        s.log(log_row())
    assert up.run_once().outcome == "sent"
    g = gates(hub, token)["east"]
    # (its camera loop is not running here, so the camera alarm is up too)
    assert g["state"] == "warning" and g["alarms"][0] == "log_write"
    detail = httpx.get(f"{hub.url}/v1/admin/gates/east", headers={"Authorization": f"Bearer {token}"}).json()
    assert detail["reasons"][0] == "alarm:log_write"
    daemon.log_alarm = None
    assert "log_write" not in decode_report(daemon.report()).alarms
    up.close()


def test_report_stays_within_budget_and_an_old_hub_shape_is_ignored():
    worst = GateReport(software_version="x" * 24, trust_version=2**40, revocation_version=2**40,
                       list_age_seconds=2**40, list_stale=True, clock_trusted=False, time_floor=2**40,
                       log_backlog=2**40, alarms=tuple(f"alarm_{i:09d}" for i in range(6)), frame_rate=999.9,
                       uptime_seconds=2**40, last_decision_at=2**40, poll_interval=86400)
    text = encode_report(worst)
    assert len("&report=" + text) <= 200
    assert decode_report(text).alarms == worst.alarms[:len(decode_report(text).alarms)]
    wrong_type = b64(cbor2.dumps({"v": "1", "b": "many"}))
    for bad in ("", "!!", wrong_type, b64(cbor2.dumps([1, 2])), "A" * 191):
        try:
            decode_report(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was read")


def test_daemon_report_before_its_first_health_reading_is_none(tmp_path, site):
    from tests.kit.hub import make_device
    dev = make_device(tmp_path, site, "http://127.0.0.1:9")
    assert Daemon(dev.settings, EventSink(None), DaemonOptions(sync=False)).report() is None
