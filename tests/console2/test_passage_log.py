"""The passage log in Chromium on a real hub: filters give exactly the matching rows, an export equals
the filtered view row for row, a hostile cell is neutralised; the API's new filters; the dashboard."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from gatekeeper.gate.uploader import Uploader
from tests.console.conftest import add_user, sign_in
from tests.kit.hub import enrolled_device, log_row
from tests.residents.phone import admin_token

ZONE = ZoneInfo("Asia/Shanghai")
HOSTILE = "=cmd|' /C calc'!A0"
UNIT = "3号楼2单元101"


def seed(hub, site, tmp_path, token) -> tuple[list[dict], list[str]]:
    """Rows from two gates, uploaded for real; (the rows as (gate, seq, ...) dicts, the unit's pass ids)."""
    admin = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"})
    assert admin.post("/v1/admin/units", json={"name": UNIT, "label": "3-2-101", "quota": 4}).status_code == 201
    unit_passes = [p["pass_id"] for p in admin.post("/v1/admin/passes", json={"unit": UNIT, "count": 2}).json()]
    now = time.time()
    plan = {"north": [(now - 7200, unit_passes[0], True, "ok", "scan"),
                      (now - 3600, "ab" * 12, False, "revoked", "scan"),
                      (now - 1800, None, True, "manual", "manual"),
                      (now - 900, unit_passes[1], True, "ok", "scan")],
            "south": [(now - 5400, unit_passes[0], False, "expired", "scan"),
                      (now - 600, "cd" * 12, True, "ok", "scan"),
                      (now - 86400 * 3, "cd" * 12, True, "ok", "scan")]}
    rows = []
    for gate, entries in plan.items():
        dev = enrolled_device(tmp_path, site, hub, gate_id=gate)
        with dev.store() as s:
            for at, pid, allow, reason, kind in entries:
                label = HOSTILE if pid == "cd" * 12 else "A-101\x1b[31m"
                seq = s.log(log_row(at=at, pass_id=pid, allow=allow, reason=reason, kind=kind, label=label))
                rows.append({"gate": gate, "key": f"{dev.key.public.kid.hex()}/{seq}", "at": at, "pass_id": pid,
                             "allow": allow, "reason": reason, "kind": kind})
        up = Uploader(*dev.sync_args())
        assert up.run_once().outcome == "sent"
        up.close()
    return sorted(rows, key=lambda r: r["at"], reverse=True), unit_passes


def shown_keys(tab) -> list[str]:
    return tab.locator("#log tbody tr[data-key]").evaluate_all("rs => rs.map(r => r.dataset.key)")


def local(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZONE).strftime("%Y-%m-%dT%H:%M")


def test_filters_exports_and_dashboard(start_hub, site, tmp_path, page):
    hub = start_hub()
    token = admin_token(hub)
    rows, unit_passes = seed(hub, site, tmp_path, token)
    add_user(hub.db_url, "guard", "viewer")
    sign_in(page, hub, "guard")
    now = time.time()
    cases = [
        ({}, rows),
        ({"gate": "north"}, [r for r in rows if r["gate"] == "north"]),
        ({"unit": UNIT}, [r for r in rows if r["pass_id"] in unit_passes]),
        ({"outcome": "denied"}, [r for r in rows if not r["allow"]]),
        ({"outcome": "manual"}, [r for r in rows if r["kind"] == "manual"]),
        ({"outcome": "allowed", "gate": "south"}, [r for r in rows if r["allow"] and r["gate"] == "south"]),
        ({"reason": "expired"}, [r for r in rows if r["reason"] == "expired"]),
        ({"pass_id": "cd" * 12}, [r for r in rows if r["pass_id"] == "cd" * 12]),
        ({"since": local(now - 86400), "until": local(now - 1200)},
         [r for r in rows if int((now - 86400) // 60 * 60) <= r["at"] < int((now - 1200) // 60 * 60)]),
    ]
    for query, expected in cases:
        page.goto(f"{hub.url}/console/log?" + "&".join(f"{k}={v}" for k, v in query.items()))
        assert shown_keys(page) == [r["key"] for r in expected], query
        # the export of the same view, row for row and in the same order
        with page.expect_download() as dl:
            page.get_by_role("link", name="CSV").click()
        got = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
        assert [f"{r['device_id']}/{r['seq']}" for r in got] == [r["key"] for r in expected], query
    # a hostile cell is text in a spreadsheet, control characters are written out, times carry the offset
    page.goto(f"{hub.url}/console/log?pass_id={'cd' * 12}")
    with page.expect_download() as dl:
        page.get_by_role("link", name="CSV").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert exported[0]["label"] == "'" + HOSTILE and "\x1b" not in text
    assert exported[0]["at"].endswith("+08:00")
    with page.expect_download() as dl:
        page.get_by_role("link", name="JSON lines").click()
    lines = [json.loads(x) for x in Path(dl.value.path()).read_text(encoding="utf-8").splitlines()]
    assert [x["label"] for x in lines] == [HOSTILE, HOSTILE]  # JSON carries the text as it came
    # a row's detail: both clocks and the conflict flag
    first = rows[0]
    page.goto(f"{hub.url}/console/log/{first['key']}")
    assert page.locator("#device-time").inner_text().strip() and page.locator("#conflict").inner_text() == "no"
    # the API's new filters: unit, allow, reason (oldest first, as before)
    api = httpx.get(f"{hub.url}/v1/admin/log", params={"unit": UNIT, "allow": "true"},
                    headers={"Authorization": f"Bearer {token}"})
    assert [json.loads(x)["pass_id"] for x in api.text.splitlines()] == [
        r["pass_id"] for r in reversed(rows) if r["pass_id"] in unit_passes and r["allow"]]
    api = httpx.get(f"{hub.url}/v1/admin/log", params={"reason": "revoked", "format": "csv"},
                    headers={"Authorization": f"Bearer {token}"})
    assert len(api.text.splitlines()) == 2
    # the dashboard: today's counts per outcome over all gates
    today = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    page.goto(f"{hub.url}/console/dashboard")
    for outcome, pick in (("allowed", lambda r: r["allow"] and r["kind"] != "manual"),
                          ("denied", lambda r: not r["allow"]), ("manual", lambda r: r["kind"] == "manual")):
        want = sum(1 for r in rows if r["at"] >= today and pick(r))
        cell = page.locator(f"#today tr:last-child td[data-outcome={outcome}]")
        assert int(cell.inner_text()) == want, outcome
    assert page.locator("svg.chart").count() == 4  # per hour and per day, for each of the two gates
