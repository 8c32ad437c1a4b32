"""Issue 15 item 2, hub side: the hub never acks past what it stored, and a resend of a (device, seq)
with different content is a conflict: stored, reported in the ack and the admin API, never dropped."""

from __future__ import annotations

import time

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.hub.store import HubStore, next_ack
from gatekeeper.wire import PATH_LOG, Batch, sign_request
from gatekeeper.wire.batch import encode_batch, row_json
from tests.kit.hub import enrolled_device, log_row

BOOT = "b"


def rows(first: int, n: int, **change) -> list[dict]:
    base = 1_767_225_600.0
    return [dict(log_row(at=base + s, pass_id=f"{s:024x}", mono=float(s), boot_id=BOOT),
                 seq=s, **change) for s in range(first, first + n)]


def send(hub, key, prev: int, last: int, batch_rows: list[dict], parked: list[dict] | None = None) -> httpx.Response:
    body = encode_batch(prev, last, [row_json(r) for r in batch_rows], 1e6, BOOT, parked)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               **sign_request(key, "POST", PATH_LOG, body, int(time.time()))}
    return httpx.post(hub.url + PATH_LOG, content=body, headers=headers, timeout=10)


def acked(hub, device_id: str) -> int | None:
    store = HubStore.open(hub.db_url)
    try:
        return store.device(device_id).acked
    finally:
        store.close()


def test_an_empty_batch_claiming_a_huge_last_moves_no_ack(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub)
    r = send(hub, dev.key, 0, 2**62, [])
    assert r.status_code == 200 and r.json()["ack"] == 0
    assert acked(hub, dev.key.public.kid.hex()) is None
    assert send(hub, dev.key, 0, 3, rows(1, 3)).json()["ack"] == 3
    # rows up to 4, a claim up to 2^62: the ack stops at the last row stored
    r = send(hub, dev.key, 3, 2**62, rows(4, 1))
    assert r.json()["ack"] == 4 and acked(hub, dev.key.public.kid.hex()) == 4
    # a parked range counts as covered (the device holds it), and no further
    r = send(hub, dev.key, 4, 100, rows(5, 1), parked=[{"first": 6, "last": 7, "status": 422, "message": "x"}])
    assert r.json()["ack"] == 7


def test_a_resend_with_different_content_is_a_conflict_kept_and_reported(hub, site, tmp_path, admin_token):
    dev = enrolled_device(tmp_path, site, hub)
    device_id = dev.key.public.kid.hex()
    original = rows(1, 3)
    first = send(hub, dev.key, 0, 3, original).json()
    assert first["stored"] == 3 and first["seq_conflicts"] == []
    # the same rows again: duplicates, no conflict
    same = send(hub, dev.key, 0, 3, original).json()
    assert same["stored"] == 0 and same["duplicates"] == 3 and same["seq_conflicts"] == []
    changed = [original[0], {**original[1], "label": "B-202", "allow": False, "reason": "revoked"}, original[2]]
    for _ in range(2):  # reported on every resend, kept once per distinct version
        r = send(hub, dev.key, 0, 3, changed).json()
        assert r["seq_conflicts"] == [2] and r["stored"] == 0 and r["duplicates"] == 3 and r["ack"] == 3
    listed = httpx.get(f"{hub.url}/v1/admin/seq-conflicts", headers={"Authorization": f"Bearer {admin_token}"})
    assert listed.status_code == 200
    [entry] = listed.json()
    assert entry["device_id"] == device_id and entry["seq"] == 2 and entry["gate_id"] == "gate-1"
    assert entry["sent"]["label"] == "B-202" and entry["sent"]["allow"] is False
    assert entry["held"]["label"] == "A-101" and entry["held"]["allow"] is True  # the log keeps the first
    store = HubStore.open(hub.db_url)
    try:
        assert store.count_rows(device_id) == 3
        assert store.db.one("SELECT label FROM passage_log WHERE device_id=? AND seq=2", (device_id,))[0] == "A-101"
    finally:
        store.close()
    other = httpx.get(f"{hub.url}/v1/admin/seq-conflicts", params={"device_id": "0" * 16},
                      headers={"Authorization": f"Bearer {admin_token}"})
    assert other.json() == []
    assert httpx.get(f"{hub.url}/v1/admin/seq-conflicts").status_code == 401


@st.composite
def batches(draw) -> list[Batch]:
    out, prev = [], draw(st.integers(0, 5))
    for _ in range(draw(st.integers(1, 8))):
        last = prev + draw(st.integers(1, 6))
        seqs = sorted(draw(st.sets(st.integers(prev + 1, last), max_size=last - prev)))
        out.append(Batch.model_validate({"prev": prev, "last": last, "sent_mono": 0, "sent_boot_id": BOOT,
                                         "rows": [dict(log_row(at=1.0, mono=0.0), seq=s) for s in seqs]}))
        prev = draw(st.integers(max(0, prev - 3), last))  # resends, overlaps and jumps
    return out


@given(batches())
def test_the_ack_only_moves_forward_and_never_past_a_row_it_holds(sequence):
    ack, held = None, set()
    for batch in sequence:
        new = next_ack(ack, batch)
        held |= {r.seq for r in batch.rows}
        assert ack is None or (new is not None and new >= ack)
        if new != ack:
            assert new in held
        ack = new
