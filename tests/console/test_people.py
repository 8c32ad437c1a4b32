"""For people: a 375 px phone, the keyboard alone, and a Chinese browser, in Chromium."""

from __future__ import annotations

from tests.console.conftest import PASSWORD


def test_a_phone_and_the_keyboard(console_hub, browser):
    hub = console_hub
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/console/")
        # the keyboard alone: the username has focus, Tab to the password, Enter signs in
        page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
        page.keyboard.type("office")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/console/units")
        for path in ("/console/units", "/console/passes", "/console/audit", "/console/units/import"):
            page.goto(hub.url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
            # every input, select and textarea a person can reach has a label
            unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select')]
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length""")
            assert unlabelled == 0, path
    finally:
        context.close()


def test_a_chinese_browser(console_hub, browser):
    hub = console_hub
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/console/")
        page.get_by_label("用户名").fill("office")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/console/units")
        page.get_by_label("名称", exact=True).fill("3号楼2单元101")
        page.get_by_label("通行证标签").fill("三号楼二单元一零一室")  # 27 bytes: over the 24-byte budget
        page.get_by_label("通行证配额").fill("4")
        page.get_by_role("button", name="创建住户").click()
        # the message beside the field, in the reader's language; what was typed kept; nothing written
        assert "最多 24 字节" in page.locator("#label-error").inner_text()
        assert page.get_by_label("名称", exact=True).input_value() == "3号楼2单元101"
        assert page.request.get(f"{hub.url}/v1/admin/units").json() == []
        page.get_by_role("link", name="English").click()
        assert page.get_by_role("button", name="Create unit").count() == 1
    finally:
        context.close()
