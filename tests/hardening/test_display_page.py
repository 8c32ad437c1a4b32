"""The volunteer page in real Chromium (issue 15 items 8, 7, 12): Chinese renders with real glyphs (not
missing-glyph boxes), the page works through its display token, and times are in the gate's zone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatekeeper.hw.display import DisplayServer
from tests.kit.browser import CHROMIUM

TOKEN = "t0ken-for-the-kiosk"
# 2026-12-31T16:30:05Z is 00:30:05 on 1 January in Beijing.
DENY = {"allow": False, "reason": "revoked", "pass_id": "p2", "label": "3-201", "at": "2026-12-31T16:30:05Z"}
ALLOW = {"allow": True, "reason": "ok", "pass_id": "p3", "label": "3-202", "at": "2026-12-31T16:30:09Z"}
# Each character of the headline drawn alone, in the headline's font, next to an unassigned code point
# (U+0378) that every font draws as its missing-glyph box. Missing glyphs are all the same box: real
# glyphs differ from the box and from each other. (Widths cannot tell: a CJK font's box is 1 em wide.)
GLYPHS = """() => {
  const zh = document.getElementById("zh");
  const style = getComputedStyle(zh);
  const draw = (ch) => {
    const canvas = document.createElement("canvas");
    canvas.width = 96; canvas.height = 96;
    const g = canvas.getContext("2d");
    g.font = style.fontWeight + " 64px " + style.fontFamily;
    g.fillText(ch, 8, 72);
    return Array.from(g.getImageData(0, 0, 96, 96).data.filter((_, i) => i % 4 === 3)).join(",");
  };
  const chars = [...zh.textContent];
  const box = draw("\u0378");
  return {text: zh.textContent, family: style.fontFamily,
          like_box: chars.filter((c) => draw(c) === box),
          distinct: new Set(chars.map(draw)).size, count: chars.length};
}"""

playwright = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip, the [dev] extra)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (./dev test installs it)")


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 800, "height": 480})
    yield context.new_page()
    context.close()


@pytest.fixture
def display() -> Iterator[DisplayServer]:
    server = DisplayServer("127.0.0.1", 0, token=TOKEN, timezone="Asia/Shanghai", hold_seconds=60)
    server.start()
    yield server
    server.stop()


def test_the_chinese_headline_renders_with_real_glyphs(page, display: DisplayServer) -> None:
    display.publish(DENY)
    page.goto(f"{display.url}/?token={TOKEN}")
    page.wait_for_function("document.fonts.status === 'loaded'")
    seen = page.evaluate(GLYPHS)
    assert seen["text"] == "已撤销"
    assert "Noto Sans CJK SC" in seen["family"]
    assert seen["like_box"] == [] and seen["distinct"] == seen["count"], \
        f"the Chinese headline renders as missing-glyph boxes (install fonts-noto-cjk; ./dev does): {seen}"


def test_the_page_follows_the_stream_through_its_token_in_the_gates_zone(page, display: DisplayServer) -> None:
    display.publish(DENY)
    page.goto(f"{display.url}/?token={TOKEN}")
    assert page.text_content("#detail") == "00:30:05  ·  3-201"  # Beijing time, not the browser's UTC
    display.publish(ALLOW)  # arrives only through /events, which needs the token too
    page.wait_for_function("document.getElementById('zh').textContent === '通过'", timeout=10_000)
    assert page.text_content("#detail") == "00:30:09  ·  3-202"


def test_without_the_token_the_page_shows_nothing(page, display: DisplayServer) -> None:
    display.publish(DENY)
    response = page.goto(f"{display.url}/")
    assert response is not None and response.status == 401
    assert "3-201" not in page.content()
