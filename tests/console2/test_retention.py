"""Retention: pruning drops rows older than the period in small transactions and leaves younger rows
(and their counts) untouched; the search's filters agree with a plain scan (property test)."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.hub.gates import GateHealth
from gatekeeper.hub.passages import LogFilter, Outcome, Passages
from gatekeeper.hub.retention import DAY, prune
from gatekeeper.hub.store import LOG_COLUMNS, HubStore


def insert(store: HubStore, rows: list[tuple[str, int, float, bool, str, str | None]]) -> None:
    """(gate, seq, at, allow, kind, pass_id) rows straight into the hub's table."""
    values = []
    for gate, seq, at, allow, kind, pid in rows:
        row = {"device_id": f"{abs(hash(gate)) % 16**16:016x}", "gate_id": gate, "seq": seq, "kind": kind,
               "allow": int(allow), "reason": "ok" if allow else "revoked", "pass_id": pid, "issuer": None,
               "scope": "demo", "status": None, "label": None, "at": at, "wall": at, "mono": 0.0, "boot_id": "b",
               "clock_trusted": 1, "list_stale": 0, "list_version": 1, "latency_ms": None, "received_at": at,
               "hub_at": at, "conflict": None}
        values.append(tuple(row[c] for c in LOG_COLUMNS))
    with store.db.transaction() as tx:
        tx.many(f"INSERT INTO passage_log ({','.join(LOG_COLUMNS)}) VALUES ({','.join('?' * len(LOG_COLUMNS))})",
                values)


def test_pruning_leaves_younger_rows_untouched(db_url):
    store = HubStore.open(db_url)
    passages, gates = Passages(store.db), GateHealth(store.db)
    now = time.time()
    old = [("north", i, now - 200 * DAY - i, True, "scan", None) for i in range(1, 2501)]
    young = [("north", 10_000 + i, now - 179 * DAY + i, i % 2 == 0, "scan", "ab" * 12) for i in range(1, 51)]
    insert(store, old + young)
    before = passages.page(LogFilter(since=now - 180 * DAY), limit=100)[0]
    assert len(before) == 50
    assert prune(store.db, passages, gates, 180 * DAY, now, chunk=1000) == 2500
    assert passages.page(LogFilter(), limit=100)[0] == before  # the younger rows, exactly as they were
    counts = passages.counts(now - 400 * DAY, now + 1)
    assert counts == {("north", Outcome.ALLOWED): 25, ("north", Outcome.DENIED): 25}
    assert store.db.one("SELECT count(*) FROM passage_counts WHERE n<=0")[0] == 0
    assert prune(store.db, passages, gates, 180 * DAY, now) == 0
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 50), st.booleans(),
                               st.sampled_from(["scan", "manual"])), max_size=40),
       gate=st.none() | st.sampled_from(["a", "b"]), outcome=st.none() | st.sampled_from(list(Outcome)),
       page_size=st.integers(1, 7))
def test_pages_and_filters_match_a_plain_scan(tmp_path_factory, rows, gate, outcome, page_size):
    store = HubStore.open(str(tmp_path_factory.mktemp("p") / "hub.db"))
    passages = Passages(store.db)
    # many rows share a time: the page key must still order and split them without loss
    data = [(g, i + 1, 1_800_000_000.0 + t, allow or kind == "manual", kind, None)
            for i, (g, t, allow, kind) in enumerate(rows)]
    insert(store, data)
    f = LogFilter(gate_id=gate, outcome=outcome)
    got = [(r["gate_id"], r["seq"]) for r in passages.rows(f, page=page_size)]
    keep = [r for r in data if (gate is None or r[0] == gate) and (
        outcome is None or outcome == (Outcome.MANUAL if r[4] == "manual" else
                                       Outcome.ALLOWED if r[3] else Outcome.DENIED))]
    device = {g: f"{abs(hash(g)) % 16**16:016x}" for g in ("a", "b")}
    keep.sort(key=lambda r: (r[2], device[r[0]], r[1]), reverse=True)
    assert got == [(r[0], r[1]) for r in keep]
    store.close()
