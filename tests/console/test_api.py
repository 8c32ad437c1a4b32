"""The admin API and the console's pages over HTTP on a real hub: tokens and sessions, filters,
refusals, a hub without the site (read-only), the language from Accept-Language and the switch."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.console.conftest import PASSWORD, add_user
from tests.kit.hub import HubProcess
from tests.kit.provision import gk

UNIT = "3号楼2单元101"


@pytest.fixture
def admin(console_hub) -> httpx.Client:
    token = gk("hub", "admin-token", "--db", console_hub.db_url).stdout.strip()
    with httpx.Client(base_url=console_hub.url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def session(hub_url: str, username: str, lang: str = "en") -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=hub_url, headers={"Accept-Language": lang})
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/sign-in").text).group(1)
    home = c.post("/console/sign-in", data={"csrf": csrf, "username": username, "password": PASSWORD,
                                            "next": "/console/units"}, follow_redirects=True)
    assert home.status_code == 200
    return c, re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)


def test_units_and_passes_through_the_api(admin):
    assert admin.post("/v1/admin/units", json={"name": UNIT, "label": "3-2-101", "quota": 4}).status_code == 201
    dup = admin.post("/v1/admin/units", json={"name": UNIT, "label": "3-2-101", "quota": 4})
    assert dup.status_code == 422 and dup.json()["error"] == "invalid" and "exists" in dup.json()["message"]
    long_label = admin.post("/v1/admin/units", json={"name": "x", "label": "三号楼二单元一零一号房间", "quota": 1})
    assert long_label.status_code == 422 and "label" in long_label.json()["message"]
    issued = admin.post("/v1/admin/passes", json={"unit": UNIT, "count": 2})
    assert issued.status_code == 201 and [sorted(p) for p in issued.json()] == [
        ["label", "pass_id", "text", "unit", "valid_from", "valid_until"]] * 2
    over = admin.post("/v1/admin/passes", json={"unit": UNIT, "count": 3})
    assert over.status_code == 422
    assert over.json()["message"] == f"count: Unit {UNIT} holds 2 of its 4 passes: 3 more do not fit."
    unknown = admin.post("/v1/admin/passes", json={"unit": "no such unit", "count": 1})
    assert unknown.status_code == 422 and "No unit" in unknown.json()["message"]
    first, second = issued.json()
    assert admin.post(f"/v1/admin/passes/{first['pass_id']}/revoke").json()["state"] == "revoked"
    new = admin.post(f"/v1/admin/passes/{second['pass_id']}/reissue").json()
    assert new["pass_id"] != second["pass_id"] and new["text"].startswith("GK1:")
    active = {p["pass_id"] for p in admin.get("/v1/admin/passes", params={"unit": UNIT, "state": "active"}).json()}
    revoked = {p["pass_id"] for p in admin.get("/v1/admin/passes", params={"state": "revoked"}).json()}
    assert active == {new["pass_id"]} and revoked == {first["pass_id"], second["pass_id"]}
    assert admin.post(f"/v1/admin/passes/{'0' * 24}/revoke").status_code == 404
    assert admin.get("/v1/admin/units").json()[0]["active"] == 1
    actions = [e["action"] for e in admin.get("/v1/admin/audit").json()]
    assert actions[:4] == ["pass_reissue", "pass_revoke", "pass_issue", "unit_create"]
    assert {e["actor"] for e in admin.get("/v1/admin/audit", params={"action": "pass_issue"}).json()} == {
        "token:admin"}


def test_no_credentials_and_sessions_without_csrf(console_hub):
    hub = console_hub
    assert httpx.get(f"{hub.url}/v1/admin/units").status_code == 401
    assert httpx.get(f"{hub.url}/console/units", follow_redirects=False).headers["location"].startswith(
        "/console/sign-in?next=")
    add_user(hub.db_url, "desk", "operator")
    client, csrf = session(hub.url, "desk")
    body = {"name": UNIT, "label": "3-2-101", "quota": 1}
    assert client.post("/v1/admin/units", json=body).json()["error"] == "csrf"
    assert client.post("/v1/admin/units", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/v1/admin/units", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # an operator may not manage accounts
    assert client.get("/console/accounts").status_code == 403
    page = client.get("/console/units")
    assert "Content-Security-Policy" in page.headers and "script-src" not in page.headers[
        "Content-Security-Policy"] and "default-src 'none'" in page.headers["Content-Security-Policy"]
    cookie = next(c for c in client.cookies.jar if c.name == "gk_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure


def test_language_from_the_browser_and_the_switch(console_hub):
    hub = console_hub
    zh = httpx.get(f"{hub.url}/console/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert 'lang="zh-CN"' in zh.text and "登录" in zh.text and ">用户名<" in zh.text
    en = httpx.get(f"{hub.url}/console/sign-in", headers={"Accept-Language": "en-GB"})
    assert ">Username<" in en.text and ">Password<" in en.text and "Sign in" in en.text
    with httpx.Client(base_url=hub.url, headers={"Accept-Language": "en"}) as c:
        c.get("/console/lang/zh_CN", params={"next": "/console/sign-in"})
        assert "用户名" in c.get("/console/sign-in").text


def test_a_hub_without_the_site_is_read_only_and_says_why(console_hub, db_url):
    console_hub.stop()
    replica = HubProcess(db_url, None).start()
    try:
        client, csrf = session(replica.url, "office")
        page = client.get("/console/units")
        assert "without the site directory (--site)" in page.text and "Create unit" not in page.text
        refused = client.post("/console/units", data={"csrf": csrf, "name": "x", "label": "x", "quota": "1"})
        assert refused.status_code == 409 and "read-only" in refused.text
        token = gk("hub", "admin-token", "--db", db_url).stdout.strip()
        assert httpx.post(f"{replica.url}/v1/admin/units", json={"name": UNIT, "label": "3-2-101", "quota": 1},
                          headers={"Authorization": f"Bearer {token}"}).status_code == 201
        issue = httpx.post(f"{replica.url}/v1/admin/passes", json={"unit": UNIT, "count": 1},
                           headers={"Authorization": f"Bearer {token}"})
        assert issue.status_code == 409 and issue.json()["error"] == "cannot_sign"
    finally:
        replica.stop()


def test_accounts_page_changes_are_audited_and_take_effect(console_hub):
    hub = console_hub
    client, csrf = session(hub.url, "office", "zh-CN")
    added = client.post("/console/accounts", data={"csrf": csrf, "username": "desk2", "role": "operator",
                                                   "password": PASSWORD}, follow_redirects=True)
    assert added.status_code == 200 and "desk2" in added.text
    again = client.post("/console/accounts", data={"csrf": csrf, "username": "desk2", "role": "operator",
                                                   "password": PASSWORD})
    assert again.status_code == 422 and "账户 desk2 已存在。" in again.text
    desk, _ = session(hub.url, "desk2")
    assert desk.get("/console/units").status_code == 200
    client.post("/console/accounts/change", data={"csrf": csrf, "username": "desk2", "what": "disable"})
    assert desk.get("/console/units", follow_redirects=False).status_code == 303  # its session ended
    audit = client.get("/v1/admin/audit", params={"target": "desk2"}).json()
    assert [(e["actor"], e["action"]) for e in audit] == [("office", "account_disable"), ("desk2", "sign_in"),
                                                          ("office", "account_add")]
