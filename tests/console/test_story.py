"""The console end to end, in Chromium, on a real hub: sign in, create a unit, issue two passes,
print and decode the sheet, revoke one and see a real gate deny it, reissue, the audit log."""

from __future__ import annotations

import json
import subprocess

import httpx

from gatekeeper.gate.checkpoint import load_authority
from gatekeeper.gate.config import load_settings
from gatekeeper.gate.sync import load_device_key
from gatekeeper.gate.updater import Updater
from gatekeeper.scan import decode_file
from tests.console.conftest import PASSWORD, sign_in
from tests.kit.provision import NO_PI, gk, json_out, token

UNIT = "3号楼2单元101"


def decide(config, text: str) -> str:
    return json_out(gk("check", "--config", config, "--text", text, "--json"))["reason"]


def unit_passes(page, hub) -> list[dict]:
    reply = page.request.get(f"{hub.url}/v1/admin/passes", params={"unit": UNIT})
    assert reply.status == 200
    return reply.json()


def test_the_story(console_hub, page, tmp_path):
    hub = console_hub
    gate = tmp_path / "gate"
    gk("provision", "--hub", hub.url, "--token", token(hub, "north-gate"), "--gate-id", "north-gate",
       "--dir", gate, *NO_PI, "--json")
    config = gate / "gatekeeper.toml"

    sign_in(page, hub, "office")
    page.wait_for_url("**/console/units")
    page.get_by_label("Name", exact=True).fill(UNIT)
    page.get_by_label("Pass label").fill("3-2-101")
    page.get_by_label("Pass quota").fill("4")
    page.get_by_role("button", name="Create unit").click()
    page.get_by_role("link", name=UNIT).click()
    page.get_by_label("How many").fill("2")
    page.get_by_role("button", name="Issue", exact=True).click()
    page.wait_for_url("**done=issued")
    passes = unit_passes(page, hub)
    assert len(passes) == 2 and {p["state"] for p in passes} == {"active"}
    texts = {p["text"] for p in passes}

    # the printed sheet decodes back to exactly these passes
    sheet = page.request.get(f"{hub.url}/console/sheet.pdf", params={"unit": UNIT})
    assert sheet.status == 200 and sheet.headers["content-type"] == "application/pdf"
    (tmp_path / "sheet.pdf").write_bytes(sheet.body())
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(tmp_path / "sheet.pdf"), str(tmp_path / "page")], check=True)
    decoded = {c.payload.decode() for png in sorted(tmp_path.glob("page*.png")) for c in decode_file(png)}
    assert decoded == texts

    # revoke one in the console; after the gate's updater applied the new list it is denied
    lost, kept = passes
    page.goto(f"{hub.url}/console/pass/{lost['pass_id']}")
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**done=revoked")
    settings = load_settings(config)
    updater = Updater(settings.path(settings.device.store), load_authority(settings), settings.sync,
                      load_device_key(settings), "north-gate")
    try:
        assert updater.poll_once().outcome == "applied"
        assert decide(config, lost["text"]) == "revoked"
        assert decide(config, kept["text"]) == "ok"

        # reissue the other (lost too): the new one is allowed, the old one denied
        page.goto(f"{hub.url}/console/pass/{kept['pass_id']}")
        page.get_by_role("button", name="Reissue (lost pass)").click()
        page.wait_for_url("**done=reissued")
        new_id = page.url.split("/pass/")[1].split("?")[0]
        new = next(p for p in unit_passes(page, hub) if p["pass_id"] == new_id)
        assert new["replaces"] == kept["pass_id"]
        assert updater.poll_once().outcome == "applied"
        assert decide(config, new["text"]) == "ok"
        assert decide(config, kept["text"]) == "revoked"
    finally:
        updater.close()

    # the audit log lists each step
    page.goto(f"{hub.url}/console/audit")
    actions = page.locator("tbody tr td:nth-child(3)").all_inner_texts()
    for action in ("sign_in", "unit_create", "pass_issue", "pass_revoke", "pass_reissue"):
        assert action in actions
    export = page.request.get(f"{hub.url}/console/audit/export.jsonl")
    lines = [json.loads(line) for line in export.text().splitlines()]
    assert {"unit_create", "pass_issue", "pass_revoke", "pass_reissue"} <= {e["action"] for e in lines}
    steps = [e for e in lines if e["action"] in ("sign_in", "unit_create", "pass_issue", "pass_revoke",
                                                 "pass_reissue")]
    assert {e["actor"] for e in steps} == {"office"} and all(e["address"] == "127.0.0.1" for e in steps)
    assert {e["actor"] for e in lines if e["action"] == "account_add"} == {"cli"}


def test_viewer_sees_no_change_buttons_and_gets_403(console_hub, page):
    hub = console_hub
    admin = httpx.Client(base_url=hub.url)
    token_text = gk("hub", "admin-token", "--db", hub.db_url).stdout.strip()
    admin.headers["Authorization"] = f"Bearer {token_text}"
    assert admin.post("/v1/admin/units", json={"name": UNIT, "label": "3-2-101", "quota": 4}).status_code == 201
    (issued,) = admin.post("/v1/admin/passes", json={"unit": UNIT, "count": 1}).json()

    sign_in(page, hub, "guard")
    page.wait_for_url("**/console/units")
    assert page.get_by_role("button", name="Create unit").count() == 0
    page.goto(f"{hub.url}/console/pass/{issued['pass_id']}")
    assert page.get_by_text(issued["pass_id"]).count() >= 1
    for name in ("Revoke", "Reissue (lost pass)", "Change status"):
        assert page.get_by_role("button", name=name).count() == 0
    # a pass's QR opens the gate: a viewer neither sees it nor fetches it, nor its text from the API
    assert page.locator("img.qr").count() == 0
    assert page.request.get(f"{hub.url}/console/pass/{issued['pass_id']}/qr.png").status == 403
    assert page.request.get(f"{hub.url}/console/sheet.pdf", params={"unit": UNIT}).status == 403
    assert page.request.get(f"{hub.url}/v1/admin/passes").json()[0]["text"] is None
    # the API through the viewer's own session, with its CSRF token: still no
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    reply = page.request.post(f"{hub.url}/v1/admin/passes/{issued['pass_id']}/revoke",
                              headers={"X-CSRF-Token": csrf}, data={})
    assert reply.status == 403 and reply.json()["error"] == "forbidden"
    assert page.request.post(f"{hub.url}/v1/admin/units", headers={"X-CSRF-Token": csrf},
                             data={"name": "x", "label": "x", "quota": 1}).status == 403
    assert admin.get("/v1/admin/passes", params={"state": "active"}).json()[0]["pass_id"] == issued["pass_id"]


def test_refusals(console_hub, page, tmp_path):
    hub = console_hub
    sign_in(page, hub, "office")
    page.wait_for_url("**/console/units")

    # a form without its CSRF token is refused, and nothing is created
    reply = page.request.post(f"{hub.url}/console/units", form={"name": "X-1", "label": "x", "quota": "1"})
    assert reply.status == 403
    assert page.request.get(f"{hub.url}/v1/admin/units").json() == []

    # <script> in a name or a note renders as text
    page.get_by_label("Name", exact=True).fill("<script>document.title='owned'</script>")
    page.get_by_label("Pass label").fill("S-1")
    page.get_by_label("Note (optional)").fill("<script>document.title='owned'</script>")
    page.get_by_role("button", name="Create unit").click()
    page.get_by_role("link", name="<script>document.title='owned'</script>").click()
    assert page.title() != "owned"
    assert page.get_by_text("<script>document.title='owned'</script>").count() >= 1

    # a CSV with bad rows writes nothing and names each bad row
    bad = "name,label,quota\nA-1,a1,2\n,b,3\nC-1,this-label-is-far-too-long-for-a-pass,1\nD-1,d,many\n"
    page.goto(f"{hub.url}/console/units/import")
    page.get_by_label("CSV file").set_input_files({"name": "units.csv", "mimeType": "text/csv",
                                                   "buffer": bad.encode()})
    page.get_by_role("button", name="Check the file").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Row 3" in alert and "Row 4" in alert and "Row 5" in alert and "Row 2" not in alert
    names = {u["name"] for u in page.request.get(f"{hub.url}/v1/admin/units").json()}
    assert "A-1" not in names


def test_sixth_wrong_password_locks_the_account(console_hub, page):
    hub = console_hub
    for attempt in range(1, 7):
        sign_in(page, hub, "office", "not the password")
        message = page.get_by_role("alert").inner_text()
        assert ("locked" in message) == (attempt == 6), (attempt, message)
    sign_in(page, hub, "office", PASSWORD)
    assert "locked" in page.get_by_role("alert").inner_text()
    assert "/console/sign-in" in page.url
