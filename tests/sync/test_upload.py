"""Enrolment and passage-log upload against a real hub on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest

from gatekeeper.gate import Uploader
from gatekeeper.gate.checkpoint import Checkpoint
from gatekeeper.gate.enrolment import EnrolError, enrol
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import PrivateKey, Reason
from tests.kit.core import wait_until
from tests.kit.hub import HubProcess, enrolled_device, fill_log, log_row, make_device


def hub_rows(hub: HubProcess) -> list[tuple]:
    store = HubStore.open(hub.db_url)
    try:
        return store.db.all("SELECT device_id, seq, conflict FROM passage_log ORDER BY device_id, seq")
    finally:
        store.close()


def drain(up: Uploader, limit: int = 1000) -> list:
    results = []
    for _ in range(limit):
        r = up.run_once()
        results.append(r)
        if r.outcome != "sent" or r.backlog == 0:
            break
    return results


def test_enrolment_token_is_one_time(hub, site, tmp_path):
    store = HubStore.open(hub.db_url)
    token = store.create_enrol_token("gate-1", 600)
    store.close()
    key = PrivateKey.generate()
    e = enrol(hub.url, token, "gate-1", key)
    assert e.gate_id == "gate-1" and e.scope == "demo"
    assert e.authority_pem == site.authority_public.to_pem().decode()
    with pytest.raises(EnrolError, match="token_used"):
        enrol(hub.url, token, "gate-1", PrivateKey.generate())
    with pytest.raises(EnrolError, match="token_unknown"):
        enrol(hub.url, "gk1_nottoken", "gate-1", PrivateKey.generate())


def test_token_bound_to_gate(hub):
    store = HubStore.open(hub.db_url)
    token = store.create_enrol_token("gate-7", 600)
    store.close()
    with pytest.raises(EnrolError, match="token_gate"):
        enrol(hub.url, token, "gate-8", PrivateKey.generate())


def test_backlog_uploads_once_with_ack(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub, batch_max_rows=500)
    with dev.store() as s:
        fill_log(s, 2300)
        last = s.last_seq()
    up = Uploader(*dev.sync_args())
    results = drain(up)
    assert results[-1].backlog == 0 and results[-1].acked == last
    assert sum(r.sent for r in results) == 2300
    rows = hub_rows(hub)
    assert [r[1] for r in rows] == list(range(1, last + 1))
    # a resend of acknowledged rows (a lost watermark) stores nothing twice; the hub's ack (2300) is
    # believed only up to the last row each batch covered
    with dev.store() as s:
        s.set_state("sync.acked", 0)
    again = up.run_once()
    assert again.outcome == "sent" and again.acked == 500
    assert drain(up)[-1].acked == last
    assert len(hub_rows(hub)) == 2300
    status = up.status()["upload"]
    assert status["backlog"] == 0 and status["last_error"] is None and status["acked_seq"] == last
    up.close()


def test_hub_killed_mid_batch_every_row_once(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub, batch_max_rows=400, backoff_cap=0.5)
    n = 12000
    with dev.store() as s:
        fill_log(s, n)
    up = Uploader(*dev.sync_args())
    stop = threading.Event()
    t = threading.Thread(target=up.run, args=(stop,))
    t.start()
    try:
        for kills in range(3):  # kill -9 three times while batches are in flight
            assert wait_until(lambda k=kills: len(hub_rows(hub)) >= (k + 1) * 2000, 60)
            hub.kill()
            # the device meets the dead hub before it comes back
            assert wait_until(lambda: up.status()["upload"]["last_error"] is not None, 30)
            hub.start()
        assert wait_until(lambda: up.status()["upload"]["acked_seq"] == n, 120)
    finally:
        stop.set()
        t.join(10)
    rows = hub_rows(hub)
    assert [r[1] for r in rows] == list(range(1, n + 1))  # every row, exactly once
    assert up.status()["upload"]["acked_seq"] == n


def test_hub_down_store_keeps_logging_then_drains(site, tmp_path, sqlite_url):
    hub = HubProcess(sqlite_url, site.root)
    hub.start()
    dev = enrolled_device(tmp_path, site, hub, backoff_cap=0.2)
    hub.stop()  # the network is gone
    up = Uploader(*dev.sync_args())
    good, _ = site.issue_pass(int(time.time()) - 60, int(time.time()) + 86400)
    cp = Checkpoint(dev.settings, dev.store())
    with dev.store() as s:
        for _ in range(30):  # the gate keeps deciding from its cached lists, and logging
            d = cp.decide(good)
            assert d.allow and d.reason is Reason.OK
            s.log(log_row(pass_id=d.pass_id, at=d.at))
            r = up.run_once()
            assert r.outcome == "retry" and r.delay <= 0.2
        assert s.last_seq() == 30
    cp.close()
    st = up.status()["upload"]
    assert st["backlog"] == 30 and "unreachable" in st["last_error"] and st["next_retry_at"]
    hub.start()
    try:
        results = drain(up)
        assert results[-1].outcome == "sent" and results[-1].acked == 30 and results[-1].backlog == 0
        assert len(hub_rows(hub)) == 30
        assert up.status()["upload"]["last_error"] is None
    finally:
        up.close()
        hub.stop()


def test_unknown_device_is_refused_not_quarantined(hub, site, tmp_path):
    dev = make_device(tmp_path, site, hub.url, backoff_cap=7)  # never enrolled
    with dev.store() as s:
        s.log(log_row())
    up = Uploader(*dev.sync_args())
    r = up.run_once()
    assert r.outcome == "refused" and r.delay == 7 and "not enrolled" in r.message
    assert up.status()["upload"]["quarantine"] == [] and r.backlog == 1
    assert hub_rows(hub) == []
    up.close()


def test_refused_batch_is_quarantined_and_the_rest_flows(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub, batch_max_rows=10)
    with dev.store() as s:
        fill_log(s, 10)
        s.log(log_row(label="x" * 300, validate=False))  # longer than the protocol allows: the hub refuses its batch
        fill_log(s, 15)
    up = Uploader(*dev.sync_args())
    first = up.run_once()
    assert first.outcome == "sent" and first.acked == 10
    parked = up.run_once()
    assert parked.outcome == "quarantined" and "422" in parked.message
    results = drain(up)
    assert results[-1].acked == 26 and results[-1].backlog == 0
    q = up.status()["upload"]
    assert q["quarantine"][0]["first"] == 11 and q["quarantine"][0]["status"] == 422
    assert "parked" in q["quarantine_message"]
    stored = [r[1] for r in hub_rows(hub)]
    assert 11 not in stored and len(stored) == 26 - q["quarantine"][0]["rows"]
    store = HubStore.open(hub.db_url)
    assert store.db.all("SELECT first, last, status FROM parked") == [(11, q["quarantine"][0]["last"], 422)]
    store.close()
    up.close()


def test_acknowledged_rows_pruned_after_retention_only(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub, retention=3600)
    with dev.store() as s:
        fill_log(s, 5, start=time.time() - 7200)  # old
        fill_log(s, 5)                              # recent
    up = Uploader(*dev.sync_args())
    drain(up)
    up._pruned_at = 0
    with dev.store() as s:
        s.log(log_row(at=time.time() - 7200))  # old but not acknowledged
        up._prune()
        seqs = [r["seq"] for r in s.log_rows(0, 100)]
    assert seqs == [6, 7, 8, 9, 10, 11]
    up.close()


def test_hub_corrects_the_times_of_a_device_with_a_wrong_clock(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub)
    wrong = time.time() - 7200  # the device's clock is two hours behind
    with dev.store() as s:
        s.log(log_row(at=wrong, wall=wrong, mono=time.monotonic() - 5, clock_trusted=False))  # 5 s ago, this boot
        s.log(log_row(at=wrong, wall=wrong, mono=3.0, boot_id="an-earlier-boot"))
    up = Uploader(*dev.sync_args())
    assert up.run_once().acked == 2
    up.close()
    store = HubStore.open(hub.db_url)
    (at, hub_at, trusted), (_, other_boot, _) = store.db.all(
        "SELECT at, hub_at, clock_trusted FROM passage_log ORDER BY seq")
    store.close()
    assert at == wrong and trusted == 0  # what the device said is kept
    assert abs(hub_at - (time.time() - 5)) < 3  # and the hub's estimate from the monotonic clock
    assert other_boot is None  # another boot's monotonic clock says nothing about now
