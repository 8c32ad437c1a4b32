"""Residents' self-service end to end (issue 14): a household letter printed by the CLI, its QR read
back by the project's decoder, the link opened on a 375x667 phone in Chromium; passes got, shown,
reported lost and replaced; a real gate (an enrolled device polling the hub) decides each one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gatekeeper.verify import Reason, parse
from tests.residents.conftest import UNIT
from tests.residents.phone import Gate, read_codes

PlaywrightError = pytest.importorskip("playwright.sync_api").Error


def qr_on_page(locator, path: Path) -> str:
    """The text of a QR code shown on the page: a screenshot of it, read by the project's decoder."""
    locator.screenshot(path=str(path))
    (text,) = read_codes(path)
    return text


def get_pass(page, tmp_path: Path, n: int) -> str:
    page.get_by_role("button", name="Get a pass").click()
    page.wait_for_url("**done=issued")
    return qr_on_page(page.locator("li.pass svg.qr").first, tmp_path / f"pass-{n}.png")


def test_letter_to_gate_quota_lost_and_replaced(hub, site, link, phone, token, tmp_path):
    gate = Gate.enrolled(tmp_path, site, hub)
    page = phone.page
    assert link.startswith(f"{hub.url}/r/")
    page.goto(link)
    body = page.locator("body").inner_text()
    assert UNIT in body and "No name, phone number or ID number is asked or stored" in body
    assert page.locator("input").count() == 0  # nothing to type: the code in the link is the only key

    first = get_pass(page, tmp_path, 1)
    gate.poll()
    assert gate.decide(first) is Reason.OK
    second = get_pass(page, tmp_path, 2)
    assert second != first and gate.decide(second) is Reason.OK

    page.get_by_role("button", name="Get a pass").click()  # a quota of 2: the third is refused
    refusal = page.get_by_role("alert").inner_text()
    assert "may hold 2 passes at a time" in refusal and "holds 2" in refusal
    assert page.locator("li.pass.state-active").count() == 2

    page.once("dialog", lambda d: d.accept())  # the browser's confirm dialog
    lost_id = parse(first).claims.pass_id.hex()
    page.locator(f"form[action$='/lost/{lost_id}']").get_by_role("button", name="Report lost").click()
    page.wait_for_url("**done=lost")
    assert page.locator(f"li.pass.state-revoked form[action$='/lost/{lost_id}']").count() == 0
    gate.poll()  # the gate learns at its next poll
    assert gate.decide(first) is Reason.REVOKED
    assert gate.decide(second) is Reason.OK

    third = get_pass(page, tmp_path, 3)  # the replacement, straight away
    assert third not in (first, second) and gate.decide(third) is Reason.OK
    gate.close()

    assert phone.hosts == {urlsplit(hub.url).netloc}  # no request left for another host
    assert not phone.csp_errors
    entries = httpx.get(f"{hub.url}/v1/admin/audit", headers={"Authorization": f"Bearer {token}"},
                        params={"actor": f"resident:{UNIT}"}, timeout=30).json()
    entries = entries if isinstance(entries, list) else entries["items"]
    actions = sorted(e["action"] for e in entries)
    assert actions == ["pass_issue", "pass_issue", "pass_issue", "pass_revoke"]
    assert {e["address"] for e in entries} == {""}  # the unit, not the person or their address


def test_declined_confirmation_keeps_the_pass(hub, link, phone, tmp_path):
    page = phone.page
    page.goto(link)
    text = get_pass(page, tmp_path, 1)
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Report lost").click()
    page.reload()
    assert page.locator("li.pass.state-active").count() == 1
    assert qr_on_page(page.locator("li.pass svg.qr").first, tmp_path / "again.png") == text


def test_full_screen_pass_png_and_offline(hub, link, phone, tmp_path):
    page = phone.page
    page.goto(link)
    text = get_pass(page, tmp_path, 1)
    page.locator("li.pass a.qr-link").first.click()
    page.wait_for_url("**/p/*")
    big = page.locator("figure.big svg.qr")
    assert big.bounding_box()["width"] >= 300  # the width of a 375 px phone, less the margins
    assert qr_on_page(big, tmp_path / "big.png") == text
    caption = page.locator("figure.big figcaption").inner_text()
    assert "3-2-101" in caption and "Valid from" in caption

    png = page.get_by_role("link", name="Save image")
    r = httpx.get(urlsplit(hub.url)._replace(path=png.get_attribute("href")).geturl(), timeout=30)
    assert r.headers["content-type"] == "image/png"
    (tmp_path / "saved.png").write_bytes(r.content)
    assert read_codes(tmp_path / "saved.png") == [text]

    page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # installed and active
    page.wait_for_function("navigator.serviceWorker.controller !== null")  # it claimed this page
    here = page.url
    page.reload()  # fetched through the service worker now, which keeps a copy
    page.wait_for_function("async () => !!(await caches.match(location.href))")
    phone.context.set_offline(True)
    page.goto(here)
    assert qr_on_page(page.locator("figure.big svg.qr"), tmp_path / "offline.png") == text
    phone.context.set_offline(False)

    # reported lost, the pass no longer shows from the kept copy
    page.goto(link)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Report lost").click()
    page.wait_for_url("**done=lost")
    page.wait_for_function("async (url) => !(await caches.match(url))", arg=here)
    phone.context.set_offline(True)
    with pytest.raises(PlaywrightError):
        page.goto(here)
    phone.context.set_offline(False)


def test_the_code_can_be_typed(hub, link, phone):
    code = urlsplit(link).path.rsplit("/", 1)[1]
    page = phone.page
    page.goto(f"{hub.url}/r/")
    page.get_by_label("The code on your household letter").fill(code.replace("-", " ").lower().replace("0", "o"))
    page.get_by_role("button", name="Open").click()
    assert page.get_by_role("button", name="Get a pass").count() == 1
    assert urlsplit(page.url).path == urlsplit(link).path


def test_the_page_speaks_chinese_and_switches(hub, link, browser):
    from tests.residents.conftest import Phone
    phone = Phone(browser, locale="zh-CN")
    try:
        page = phone.page
        page.goto(link)
        assert page.get_by_role("button", name="领取通行证").count() == 1
        page.get_by_role("link", name="English").click()
        assert page.get_by_role("button", name="Get a pass").count() == 1
    finally:
        phone.close()
