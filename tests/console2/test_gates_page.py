"""The Gates page in Chromium: a gate that stops polling turns offline on the page (one webhook); an
admin enrols a gate (token, QR, offline bundle) and revokes one; a viewer reads but cannot enrol or revoke."""

from __future__ import annotations

from pathlib import Path

import httpx

from gatekeeper.gate.updater import Updater
from gatekeeper.hub.sessions import CSRF_FIELD
from gatekeeper.hub.store import HubStore
from gatekeeper.wire import AuthorityPin, GateReport, encode_report, open_bundle
from tests.console.conftest import PASSWORD, add_user, sign_in
from tests.kit.core import wait_until
from tests.kit.hub import enrolled_device


def state_on_page(page, hub, gate: str) -> str:
    page.goto(f"{hub.url}/console/gates")
    cell = page.locator(f"#gate-{gate} [data-state]")
    return cell.get_attribute("data-state") if cell.count() else "absent"


def test_offline_on_the_page_one_webhook_enrol_and_revoke(start_hub, site, tmp_path, receiver, page):
    hub = start_hub("--webhook", receiver.url, "--webhook-secret-file", "{secret}")
    add_user(hub.db_url, "office", "admin")
    dev = enrolled_device(tmp_path, site, hub, gate_id="north")
    up = Updater(*dev.sync_args())
    up.report = lambda: encode_report(GateReport(software_version="1.2.3", trust_version=1, revocation_version=1,
                                                 poll_interval=0.5))
    up.poll_once()
    up.close()
    sign_in(page, hub, "office")
    page.wait_for_url("**/console/**")
    assert state_on_page(page, hub, "north") == "ok"
    assert wait_until(lambda: state_on_page(page, hub, "north") == "offline", 15, 0.2)
    assert "no contact" in page.locator("#gate-north .why").inner_text()
    assert wait_until(lambda: len(receiver.calls) == 1, 10, 0.05)
    store = HubStore.open(hub.db_url)
    try:  # every event is settled and exactly one of them was news
        assert wait_until(lambda: store.db.all("SELECT new_state, delivery FROM gate_events ORDER BY at") ==
                          [("ok", "none"), ("offline", "sent")], 10, 0.05)
    finally:
        store.close()
    assert len(receiver.calls) == 1 and receiver.payloads()[0]["state"] == "offline"

    # enrol a new gate: the token, the signed QR on screen, the offline bundle
    page.get_by_label("Gate id").fill("west")
    page.get_by_role("button", name="Make enrolment token").click()
    assert page.locator("#token").inner_text().startswith("gk1_")
    assert page.locator(".qr svg").count() == 1
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download offline bundle").click()
    material = open_bundle(Path(dl.value.path()).read_bytes(), AuthorityPin.of_key(site.authority_public, "test"))
    assert material.gate_id == "west"
    assert state_on_page(page, hub, "west") == "offline"  # registered, not heard from yet

    # revoke north: its device is refused from now on
    page.goto(f"{hub.url}/console/gates/north")
    page.get_by_role("button", name="Revoke gate north").click()
    page.wait_for_url("**/console/gates?done=north")
    assert state_on_page(page, hub, "north") == "absent"
    up = Updater(*dev.sync_args())
    assert up.poll_once().outcome == "refused"
    up.close()
    audit = page.request.get(f"{hub.url}/v1/admin/audit").json()
    items = audit["items"] if isinstance(audit, dict) else audit
    assert {"device_enrol", "device_revoke"} <= {e["action"] for e in items}


def test_a_viewer_reads_but_cannot_enrol_or_revoke(start_hub, site, tmp_path, page):
    hub = start_hub()
    add_user(hub.db_url, "guard", "viewer")
    enrolled_device(tmp_path, site, hub, gate_id="north")
    sign_in(page, hub, "guard")
    page.wait_for_url("**/console/**")
    page.goto(f"{hub.url}/console/gates")
    assert page.locator("#gate-north").count() == 1
    assert page.get_by_role("button", name="Make enrolment token").count() == 0
    page.goto(f"{hub.url}/console/gates/north")
    assert page.get_by_role("button", name="Revoke gate north").count() == 0
    csrf = page.locator("input[type=hidden]").first.get_attribute("value")
    for path, body in (("/v1/admin/gates/enrol", {"gate_id": "x", "hub_url": hub.url}),
                       ("/v1/admin/gates/north/revoke", None)):
        r = page.request.post(f"{hub.url}{path}", headers={"X-CSRF-Token": csrf}, data=body)
        assert r.status == 403 and r.json()["error"] == "forbidden", path
    r = page.request.post(f"{hub.url}/console/gates/north/revoke", form={CSRF_FIELD: csrf})
    assert r.status == 403 and "403" in r.text() + str(r.status)
    assert page.request.get(f"{hub.url}/v1/admin/gates").json()[0]["gate_id"] == "north"
    assert httpx.get(f"{hub.url}/v1/admin/gates").status_code == 401


def test_the_pages_in_chinese(start_hub, site, tmp_path, browser):
    hub = start_hub()
    add_user(hub.db_url, "guard", "viewer")
    enrolled_device(tmp_path, site, hub, gate_id="north")
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    tab = context.new_page()
    try:
        tab.goto(f"{hub.url}/console/")
        tab.locator("#username").fill("guard")
        tab.locator("#password").fill(PASSWORD)
        tab.locator("form button[type=submit]").last.click()
        tab.wait_for_url("**/console/**")
        for path, heading, text in (("/console/gates", "闸机", "离线"),
                                    ("/console/log", "通行记录", "没有符合条件的通行记录"),
                                    ("/console/dashboard", "概览", "今日通行")):
            tab.goto(f"{hub.url}{path}")
            assert tab.locator("h1").inner_text() == heading
            assert text in tab.locator("main").inner_text()
    finally:
        context.close()
