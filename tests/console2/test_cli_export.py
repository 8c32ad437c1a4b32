"""`gatekeeper hub log` for terminal users, `hub serve --webhook` refusals, and the export's cells
and times (property tests against the plain definitions)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.hub.export import LocalTimes, csv_cell, csv_text, local_time
from gatekeeper.hub.passages import PASSAGE_COLUMNS, Passages
from gatekeeper.hub.store import HubStore
from tests.console2.test_retention import insert

GK = [sys.executable, "-m", "gatekeeper"]


def hub_log(db: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GK, "hub", "log", "--db", db, *args], capture_output=True, text=True, check=False)


def test_hub_log_filters_and_formats(tmp_path):
    db = str(tmp_path / "hub.db")
    store = HubStore.open(db)
    Passages(store.db)
    with store.db.transaction() as tx:
        store.set_meta(tx, "site_timezone", "Asia/Shanghai")
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    insert(store, [("north", 1, t0, True, "scan", "ab" * 12), ("north", 2, t0 + 86400, False, "scan", "cd" * 12),
                   ("south", 3, t0 + 3600, True, "manual", None)])
    store.close()
    r = hub_log(db, "--gate", "north", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["seq"] for x in rows] == [2, 1] and rows[1]["at"] == "2026-12-01T08:00:00.000+08:00"
    r = hub_log(db, "--since", "2026-12-01", "--until", "2026-12-02", "--format", "csv")
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [x["seq"] for x in got] == ["3", "1"]  # the site's day, not UTC's
    r = hub_log(db)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 4 and "manual" in r.stdout
    r = hub_log(db, "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr and "not a time" in r.stderr


def test_serve_refuses_a_webhook_without_a_secret(tmp_path):
    r = subprocess.run([*GK, "hub", "serve", "--db", str(tmp_path / "h.db"), "--webhook", "http://127.0.0.1:9/x"],
                       capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 2 and "--webhook-secret-file" in r.stderr
    short = tmp_path / "short"
    short.write_text("abc")
    r = subprocess.run([*GK, "hub", "serve", "--db", str(tmp_path / "h.db"), "--webhook", "http://127.0.0.1:9/x",
                        "--webhook-secret-file", str(short)], capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 2 and "16 bytes" in r.stderr


@given(st.floats(0, 4e9, allow_nan=False), st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York",
                                                             "Asia/Kolkata", "Australia/Lord_Howe"]))
def test_fast_local_times_equal_isoformat(ts, zone_name):
    zone = ZoneInfo(zone_name)
    assert LocalTimes(zone)(ts) == local_time(ts, zone)


@given(st.text(max_size=20))
def test_no_cell_can_run_or_hide_a_control_character(text):
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert all(c.isprintable() or c == " " or not (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) for c in cell)
    # the CSV writer and reader give the cell back, so a neutralised export reads back row for row
    row = tuple(text if c == "label" else None for c in PASSAGE_COLUMNS)
    back = list(csv.DictReader(io.StringIO("".join(csv_text([row], PASSAGE_COLUMNS, ZoneInfo("UTC"))))))
    assert back[0]["label"] == cell
