"""The office's side of residents' self-service (issue 14): approval mode with the queue in the
console, pausing a unit, a new letter replacing the old code, and wrong codes slowed then refused."""

from __future__ import annotations

import time

import httpx

from gatekeeper.hub.accounts import Accounts
from gatekeeper.hub.database import Database
from gatekeeper.hub.residents import FAILURE_WINDOW, FIRST_DELAY_S, MAX_DELAY_S
from gatekeeper.hub.roles import Role
from gatekeeper.verify import Reason
from tests.residents.conftest import UNIT, Phone
from tests.residents.phone import Gate, letter_links, letters
from tests.residents.test_self_service import qr_on_page

PASSWORD = "correct horse battery"


def office(hub, browser, role: Role = Role.ADMIN) -> Phone:
    """A signed-in console session (an English browser) with an account of ``role``."""
    db = Database(hub.db_url)
    try:
        Accounts(db).add(f"desk-{role}", role, PASSWORD)
    finally:
        db.close()
    desk = Phone(browser)
    page = desk.page
    page.goto(f"{hub.url}/console/sign-in")
    page.get_by_label("Username").fill(f"desk-{role}")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/**")
    return desk


def test_with_approval_the_pass_appears_only_once_approved(hub, site, link, phone, browser, tmp_path):
    admin = office(hub, browser)
    admin.page.goto(f"{hub.url}/console/residents")
    admin.page.get_by_label("issued after an operator approves them").check()
    admin.page.get_by_role("button", name="Save setting").click()
    assert "Setting saved." in admin.page.locator("main").inner_text()

    page = phone.page
    page.goto(link)
    page.get_by_role("button", name="Get a pass").click()
    page.wait_for_url("**done=waiting")
    assert page.locator("li.pass").count() == 0
    assert "waits for the property office's approval" in page.locator("main").inner_text()

    operator = office(hub, browser, Role.OPERATOR)
    operator.page.goto(f"{hub.url}/console/residents")
    operator.page.get_by_role("button", name=f"Approve the request of {UNIT}").click()
    assert "Approved" in operator.page.locator("main").inner_text()
    assert operator.page.get_by_role("button", name=f"Approve the request of {UNIT}").count() == 0

    page.goto(link)
    text = qr_on_page(page.locator("li.pass svg.qr").first, tmp_path / "approved.png")
    gate = Gate.enrolled(tmp_path, site, hub)
    gate.poll()
    assert gate.decide(text) is Reason.OK
    gate.close()

    # a refused request leaves no pass
    page.get_by_role("button", name="Get a pass").click()
    operator.page.goto(f"{hub.url}/console/residents")
    operator.page.get_by_role("button", name=f"Refuse the request of {UNIT}").click()
    page.goto(link)
    assert page.locator("li.pass").count() == 1
    for desk in (admin, operator):
        desk.close()


def test_a_paused_unit_cannot_change_anything(hub, link, phone, browser, tmp_path):
    page = phone.page
    page.goto(link)
    page.get_by_role("button", name="Get a pass").click()
    page.wait_for_url("**done=issued")
    admin = office(hub, browser)
    admin.page.goto(f"{hub.url}/console/residents")
    admin.page.get_by_label("Unit", exact=True).fill(UNIT)
    admin.page.get_by_role("button", name="Pause").click()
    assert f"Self-service paused for {UNIT}." in admin.page.locator("main").inner_text()

    page.goto(link)
    assert "Self-service is paused" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Get a pass").count() == 0
    assert page.get_by_role("button", name="Report lost").count() == 0
    assert page.locator("li.pass svg.qr").count() == 1  # the pass still shows
    r = httpx.post(f"{link}/get", timeout=30)  # and the form's target refuses too
    assert r.status_code == 403 and page.locator("li.pass").count() == 1

    admin.page.get_by_role("button", name=f"Resume the self-service of {UNIT}").click()
    page.goto(link)
    assert page.get_by_role("button", name="Get a pass").count() == 1
    admin.close()


def test_a_new_letter_replaces_the_code(hub, site, link, tmp_path):
    first = httpx.get(link, timeout=30)
    assert first.status_code == 200
    csp = first.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "unsafe" not in csp
    assert first.headers["referrer-policy"] == "no-referrer"  # the code is in the URL
    again = tmp_path / "again"
    again.mkdir()
    done = letters(hub, site.root, again / "letter.pdf", UNIT)
    assert done.returncode == 0, done.stderr
    (new,) = letter_links(again / "letter.pdf", again)
    assert new != link
    assert httpx.get(new, timeout=30).status_code == 200
    old = httpx.get(link, timeout=30)
    assert old.status_code == 404 and "This code is not known here" in old.text


def test_letters_from_the_console_replace_the_code(hub, link, browser, tmp_path):
    admin = office(hub, browser)
    page = admin.page
    page.goto(f"{hub.url}/console/residents")
    page.get_by_label("Unit (leave empty for every unit)").fill(UNIT)
    with page.expect_download() as download:
        page.get_by_role("button", name="Print letters (PDF)").click()
    pdf = tmp_path / "console" / "letter.pdf"
    pdf.parent.mkdir()
    download.value.save_as(pdf)
    (new,) = letter_links(pdf, pdf.parent)
    assert new.startswith(f"{hub.url}/r/") and new != link
    assert httpx.get(new, timeout=30).status_code == 200
    assert httpx.get(link, timeout=30).status_code == 404
    admin.close()


def test_letters_refuse_bad_input_and_change_nothing(hub, site, link, tmp_path):
    out = tmp_path / "x.pdf"
    r = letters(hub, site.root, out, "no such unit")
    assert r.returncode == 1 and "No unit no such unit" in r.stderr and not out.exists()
    assert httpx.get(link, timeout=30).status_code == 200  # the unit's letter still works
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "gatekeeper", "hub", "letters", "--db", hub.db_url, "--site",
                        str(site.root), "--all", "--base-url", "ftp://x", "--out", str(out)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "--base-url" in r.stderr and not out.exists()
    r = subprocess.run([sys.executable, "-m", "gatekeeper", "hub", "letters", "--db", hub.db_url, "--site",
                        str(site.root), "--all", "--unit", UNIT, "--base-url", hub.url, "--out", str(out)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "--unit NAME (one or more) or --all" in r.stderr


def test_wrong_codes_are_slowed_then_refused(hub, link):
    wrong = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    allowed = int(FAILURE_WINDOW.split()[0])
    expected = FIRST_DELAY_S
    with httpx.Client(timeout=60) as client:
        for _ in range(allowed):
            start = time.monotonic()
            r = client.get(wrong)
            took = time.monotonic() - start
            assert r.status_code == 404 and "This code is not known here" in r.text
            assert took >= expected  # each wrong code costs at least its delay, doubling
            expected = min(MAX_DELAY_S, expected * 2)
        r = client.get(wrong)
        assert r.status_code == 429 and "Too many wrong codes" in r.text
        r = client.get(link)  # from this address even the right code waits for the window
        assert r.status_code == 429


def test_a_form_from_another_site_is_refused(hub, link):
    r = httpx.post(f"{link}/get", headers={"Origin": "https://elsewhere.example"}, timeout=30)
    assert r.status_code == 403 and "did not come from your household" in r.text
    page = httpx.get(link, timeout=30).text
    assert "state-active" not in page  # nothing was issued
    r = httpx.post(f"{link}/get", headers={"Origin": hub.url}, timeout=30)
    assert r.status_code == 303
