"""The chat widget in a real browser (Debian's Chromium via Playwright) against a real `qa serve`.

Every scenario saves screenshots to test-artifacts/widget/<step>.png."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

HEADLINE = "哪些单位提到预算编制不够细化？"
FOLLOW_UP = "它们分别提出了什么改进措施？"
LOOKUP = "赫山区投资促进服务中心2021年基本支出是多少？"
HESHAN = "益阳市赫山区投资促进服务中心"
DAXIANG = "湖南省大祥工业集中区管理委员会"
W = "jixiao-qa-widget"  # Playwright's CSS engine pierces the open shadow root


# ---- helpers ---------------------------------------------------------------------------------------


def shot(page: Any, artifacts: Path, step: str) -> None:
    page.screenshot(path=str(artifacts / f"{step}.png"))


def host_page(widget_src: str, api: str, key: str | None = None, head: str = "", body: str = "") -> str:
    key_attr = f' data-key="{key}"' if key is not None else ""
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>宿主页面</title>{head}</head><body>{body}'
        f'<script src="{widget_src}" data-api="{api}"{key_attr} async></script></body></html>'
    )


def serve_html(page: Any, url: str, html: str) -> None:
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))


def launcher(page: Any) -> Any:
    return page.get_by_role("button", name="打开绩效报告问答")


def dialog(page: Any) -> Any:
    return page.get_by_role("dialog", name="绩效报告问答")


def question_box(page: Any) -> Any:
    return page.get_by_label("输入问题")


def stop_button(page: Any) -> Any:
    return page.locator(f"{W} .jx-stop")


def send_button(page: Any) -> Any:
    return page.locator(f"{W} .jx-send")


def last_reply(page: Any) -> Any:
    return page.locator(f"{W} .jx-log > .jx-msg").last


def active(page: Any) -> str:
    """Class name of the focused element inside the widget ('' when focus is elsewhere)."""
    return page.evaluate(
        """() => { const host = document.querySelector('jixiao-qa-widget');
                   const el = host && document.activeElement === host ? host.shadowRoot.activeElement : null;
                   return el ? (el.className || el.tagName) : ''; }"""
    )


def js_ask(page: Any, question: str) -> None:
    """What the demo page's example buttons do: the widget's public API."""
    page.wait_for_function("() => !!window.JixiaoQA")
    page.evaluate("q => { window.JixiaoQA.ask(q); }", question)


def open_widget(page: Any) -> None:
    launcher(page).click()
    expect(dialog(page)).to_be_visible()
    assert "jx-input" in active(page), "opening the panel moves focus into the question box"


def ask(page: Any, question: str) -> None:
    question_box(page).fill(question)
    question_box(page).press("Enter")


def wait_idle(page: Any) -> None:
    expect(stop_button(page)).to_be_disabled(timeout=30_000)
    expect(send_button(page)).to_be_enabled()


def assert_usable(page: Any) -> None:
    """The panel is not frozen: idle, question box enabled and focusable, a new question can be typed."""
    wait_idle(page)
    expect(question_box(page)).to_be_enabled()
    question_box(page).fill("还能继续输入")
    expect(question_box(page)).to_have_value("还能继续输入")
    question_box(page).fill("")


def unit_rows(page: Any) -> Any:
    return last_reply(page).locator(".jx-table tbody tr")


# ---- 1–3: headline aggregate question, source viewer, follow-up ---------------------------------------------


def test_aggregate_answer_citation_viewer_and_follow_up(page: Any, context: Any, api: str, artifacts: Path) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api)
    sessions: list[str] = []
    page.on(
        "response",
        lambda r: sessions.append(r.json()["token"]) if r.url.endswith("/v1/widget/session") and r.ok else None,
    )
    page.goto(f"{api}/")
    expect(page.get_by_role("heading", name="绩效报告问答")).to_be_visible()
    expect(page.locator("[data-question]")).to_have_count(4)
    expect(launcher(page)).to_be_visible()
    shot(page, artifacts, "01-demo-page")

    open_widget(page)
    ask(page, HEADLINE)
    wait_idle(page)
    reply = last_reply(page)
    expect(reply.locator(".jx-count")).to_have_text("共 2 个单位")
    expect(reply.locator(".jx-table thead th")).to_have_text(["序号", "单位", "证据"])
    rows = unit_rows(page)
    expect(rows).to_have_count(2)
    assert sorted(rows.locator("td:nth-child(2)").all_inner_texts()) == sorted([HESHAN, DAXIANG])
    for i in range(2):
        expect(rows.nth(i).locator("td:nth-child(3) .jx-chip")).not_to_have_count(0)
    # 芙蓉区商务局 states the neighbour concept (绩效目标不够细化) as its problem: never counted (issue 18). Its measure
    # "…细化、量化…的绩效目标，将绩效管理贯穿于预算编制…" reaches 预算编制不够细化 by 0.013 since session 17's examples
    # (the margin is 0.01), so it may stand apart as a near miss, and then only with the reason it was not counted.
    expect(reply.locator(".jx-table")).not_to_contain_text("芙蓉区商务局")
    for item in reply.locator(".jx-related li").all():
        expect(item.locator(".jx-reason")).to_have_text("（仅在改进措施中提到，未作为存在的问题）")
    shot(page, artifacts, "02-aggregate-table")

    # 复制回答: answer text plus a numbered source list.
    reply.get_by_role("button", name="复制回答").click()
    expect(reply.locator(".jx-copy-status")).to_have_text("已复制")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("共有 2 个单位") and "\n\n来源：\n" in copied
    assert f"[1] {HESHAN}｜001_5adf402d10fbcc74.txt｜七、存在的问题及原因分析" in copied

    # 2: a chip opens the source viewer with the cited span marked and scrolled into view.
    chip = rows.filter(has_text=HESHAN).locator(".jx-chip").first
    chip.click()
    viewer = page.locator(f"{W} .jx-viewer")
    expect(viewer).to_be_visible()
    expect(page.locator(f"{W} .jx-log")).to_be_hidden()
    expect(viewer.locator(".jx-viewer-title")).to_have_text(
        "益阳市赫山区投资促进服务中心2021年度部门整体支出绩效评价报告"
    )
    expect(viewer.locator(".jx-viewer-meta")).to_contain_text(HESHAN)
    expect(viewer.locator(".jx-viewer-meta")).to_contain_text("2021年")
    expect(viewer.locator(".jx-viewer-meta")).to_contain_text("七、存在的问题及原因分析")
    mark = viewer.locator("mark")
    expect(mark).to_have_text("预算编制工作有待细化。")
    expect(mark).to_be_in_viewport()
    doc_text = viewer.locator(".jx-doc").inner_text()
    assert doc_text.startswith("益阳市赫山区投资促进服务中心2021年度部门") and len(doc_text) > 2000
    box, doc_box = mark.bounding_box(), viewer.locator(".jx-doc").bounding_box()
    assert box and doc_box and doc_box["y"] <= box["y"] and box["y"] + box["height"] <= doc_box["y"] + doc_box["height"]
    assert doc_box["y"] + 1 < box["y"], "the mark was scrolled to, not left at the top of a 2000-character document"
    shot(page, artifacts, "03-source-viewer")

    viewer.get_by_role("button", name="返回对话").click()
    expect(viewer).to_be_hidden()
    expect(page.locator(f"{W} .jx-log")).to_be_visible()
    assert "jx-chip" in active(page), "back returns focus to the chip that opened the viewer"

    # 3: the follow-up carries the conversation so far as plain text.
    with page.expect_request(lambda r: r.url.endswith("/v1/ask/stream")) as request_info:
        ask(page, FOLLOW_UP)
    body = json.loads(request_info.value.post_data or "{}")
    assert body["question"] == FOLLOW_UP
    history = body["history"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == HEADLINE
    assert HESHAN in history[1]["content"] and DAXIANG in history[1]["content"]
    assert not re.search(r"\[\d+\]", history[1]["content"]), "citation markers are stripped from the history"
    # The visitor's session (rate limits count per visitor): started once, sent with every question.
    assert len(sessions) == 1 and request_info.value.headers["x-qa-session"] == sessions[0]
    wait_idle(page)
    reply = last_reply(page)
    expect(reply).to_contain_text(HESHAN)
    expect(reply).to_contain_text(DAXIANG)
    expect(reply.locator(".jx-resolved")).to_contain_text(f"{HESHAN}、{DAXIANG}")
    expect(reply.locator(".jx-chip")).not_to_have_count(0)
    shot(page, artifacts, "04-follow-up")


def test_a_long_unit_list_comes_in_pages(page: Any, api: str, artifacts: Path) -> None:
    """A library where a topic counts more units than one page: the table says how many there are, and 显示更多
    appends the next page, whose citations are renumbered after the ones shown and open their own passage. The
    page size is 1 here (the question's request is given limit=1 on its way to the real server)."""

    def pages_of_one(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "limit": 1}, ensure_ascii=False))

    page.route(f"{api}/v1/ask/stream", pages_of_one)
    page.goto(f"{api}/")
    open_widget(page)
    ask(page, HEADLINE)
    wait_idle(page)
    reply = last_reply(page)
    expect(reply.locator(".jx-count")).to_have_text("共 2 个单位（已显示 1 个）")
    expect(unit_rows(page)).to_have_count(1)
    shown = unit_rows(page).locator("td:nth-child(2)").inner_text()
    more = reply.get_by_role("button", name="显示更多（还有 1 个单位）")
    shot(page, artifacts, "16-first-page")
    with page.expect_request(lambda r: r.url.endswith("/v1/ask")) as request_info:
        more.click()
    assert json.loads(request_info.value.post_data or "{}") == {"question": HEADLINE, "history": [], "offset": 1}
    expect(unit_rows(page)).to_have_count(2)
    expect(reply.locator(".jx-count")).to_have_text("共 2 个单位")
    expect(reply.locator(".jx-more")).to_have_count(0)
    names = unit_rows(page).locator("td:nth-child(2)").all_inner_texts()
    assert names[0] == shown and sorted(names) == sorted([HESHAN, DAXIANG])
    cids = reply.locator(".jx-table .jx-chip").evaluate_all("els => els.map(e => e.dataset.cid)")
    assert len(cids) == len(set(cids)) >= 2, cids
    shot(page, artifacts, "17-second-page")

    second = unit_rows(page).nth(1).locator(".jx-chip").first
    second.click()
    viewer = page.locator(f"{W} .jx-viewer")
    expect(viewer.locator(".jx-viewer-meta")).to_contain_text(names[1])
    expect(viewer.locator("mark")).to_contain_text("细化")
    viewer.get_by_role("button", name="返回对话").click()
    # The merged answer survives a reload (the conversation is kept in sessionStorage).
    page.reload()
    open_widget(page)
    expect(unit_rows(page)).to_have_count(2)


# ---- 4: bad key --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_api(tmp_path_factory: pytest.TempPathFactory, host_site: Any) -> Iterator[str]:
    """A second real server (empty store) with a widget key that is only valid from the host site's origin."""
    from tests.support.server import running_server

    env = {"QA_WIDGET_KEYS": "good-key", "QA_CORS_ORIGINS": host_site.url}
    with running_server(tmp_path_factory.mktemp("keyed-api"), env=env) as base:
        yield base


def test_near_misses_say_why_they_were_not_counted(page: Any, api: str, artifacts: Path) -> None:
    """赫山 states 绩效目标 only in its measures: listed apart under 相近表述, with the reason (issue 18, item 4)."""
    page.goto(f"{api}/")
    open_widget(page)
    ask(page, "哪些单位提到绩效目标不够细化量化？")
    wait_idle(page)
    reply = last_reply(page)
    related = reply.locator(".jx-related")
    expect(related.get_by_role("heading", name="相近表述（未计入）")).to_be_visible()
    expect(related.locator("li").filter(has_text=HESHAN).locator(".jx-reason")).to_have_text(
        "（仅在改进措施中提到，未作为存在的问题）"
    )
    expect(reply.locator(".jx-table")).not_to_contain_text(HESHAN)
    shot(page, artifacts, "02b-related-reasons")


def test_bad_key_shows_chinese_error_and_panel_stays_usable(
    page: Any, keyed_api: str, host_site: Any, artifacts: Path
) -> None:
    if httpx.post(f"{keyed_api}/v1/ask", json={"question": "测试"}).status_code != 401:
        pytest.skip("the server does not enforce QA_WIDGET_KEYS yet (auth not wired in); see test_error_states")

    seen: list[str | None] = []
    page.on("request", lambda r: seen.append(r.headers.get("authorization")) if "/v1/" in r.url else None)
    serve_html(page, f"{keyed_api}/bad-key.html", host_page(f"{keyed_api}/widget.js", keyed_api, key="bad-key"))
    page.goto(f"{keyed_api}/bad-key.html")
    open_widget(page)
    ask(page, LOOKUP)
    reply = last_reply(page)
    expect(reply).to_have_attribute("role", "alert")
    expect(reply).to_contain_text("密钥无效或无权限")
    assert "Bearer bad-key" in seen, "data-key is sent as a bearer token"
    assert_usable(page)
    ask(page, "再问一次")
    expect(page.locator(f"{W} .jx-msg-error")).to_have_count(2)
    assert_usable(page)
    shot(page, artifacts, "05-bad-key")

    # A valid widget key from a page whose origin is not allowed: 403, same Chinese message.
    serve_html(page, f"{keyed_api}/wrong-origin.html", host_page(f"{keyed_api}/widget.js", keyed_api, key="good-key"))
    page.goto(f"{keyed_api}/wrong-origin.html")
    js_ask(page, "测试")
    expect(last_reply(page)).to_contain_text("密钥无效或无权限")
    assert_usable(page)

    # The same key from the allowed origin gets through (cross-origin, CORS preflight, Authorization header).
    host_site.pages["/allowed.html"] = host_page(f"{keyed_api}/widget.js", keyed_api, key="good-key")
    page.goto(f"{host_site.url}/allowed.html")
    js_ask(page, LOOKUP)
    wait_idle(page)
    expect(last_reply(page)).not_to_have_class(re.compile("jx-msg-error"))
    expect(last_reply(page)).to_contain_text("未在已收录报告中找到")  # that server's store is empty
    shot(page, artifacts, "05b-good-key-allowed-origin")


# ---- 5: reload keeps the conversation; 清空对话 removes it ----------------------------------------------------------


def test_conversation_survives_reload_and_can_be_cleared(page: Any, api: str, artifacts: Path) -> None:
    page.goto(f"{api}/")
    page.get_by_role("button", name=LOOKUP).click()  # a demo example button: opens the widget and asks
    expect(dialog(page)).to_be_visible()
    wait_idle(page)
    expect(last_reply(page)).to_contain_text("388.07万元")

    page.reload()
    expect(dialog(page)).to_be_hidden()
    open_widget(page)
    messages = page.locator(f"{W} .jx-log > .jx-msg")
    expect(messages).to_have_count(2)
    expect(messages.first).to_have_text(LOOKUP)
    expect(messages.last).to_contain_text("388.07万元")
    messages.last.locator(".jx-chip").first.click()  # restored answers keep working citations
    expect(page.locator(f"{W} .jx-viewer mark")).to_be_in_viewport()
    page.keyboard.press("Escape")  # Escape in the viewer goes back to the conversation
    expect(page.locator(f"{W} .jx-log")).to_be_visible()
    shot(page, artifacts, "06-restored-after-reload")

    with page.expect_request(lambda r: r.url.endswith("/v1/ask/stream")) as request_info:
        ask(page, "它的项目支出是多少？")
    history = json.loads(request_info.value.post_data or "{}")["history"]
    assert history[0] == {"role": "user", "content": LOOKUP} and "388.07万元" in history[1]["content"]
    wait_idle(page)

    page.get_by_role("button", name="清空对话").click()
    expect(messages).to_have_count(0)
    expect(page.locator(f"{W} .jx-welcome")).to_be_visible()
    assert page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('jixiaoqa:'))") == []
    page.reload()
    open_widget(page)
    expect(messages).to_have_count(0)
    shot(page, artifacts, "07-cleared")


# ---- 6: hostile host CSS -----------------------------------------------------------------------------------


HOSTILE_CSS = """
<style>
  * { all: unset !important; }
  html, body { display: block !important; }
  body { font-size: 40px !important; line-height: 3 !important; color: rgb(200, 0, 0) !important;
         font-family: serif !important; letter-spacing: 6px !important; text-align: right !important; }
  div, section, table, form, mark, textarea { display: none !important; }
  button { background: red !important; width: 10px !important; height: 10px !important; overflow: hidden !important; }
  jixiao-qa-widget { display: none !important; position: absolute !important; transform: scale(0) !important; }
  :root { font-size: 40px !important; --jx-accent: lime; }
  p#probe { display: block !important; border-bottom: 3px solid rgb(0, 0, 200) !important; }
</style>
"""
PROBE_STYLE = """(el => { const s = getComputedStyle(el);
  return [s.fontSize, s.color, s.fontFamily, s.display, s.lineHeight, s.letterSpacing, s.borderBottom, s.textAlign].join('|'); })"""


def test_hostile_host_css_cannot_break_the_widget_and_widget_leaves_host_alone(
    page: Any, api: str, artifacts: Path
) -> None:
    body = (
        '<p id="probe">宿主页面的文字</p>'
        "<script>window.__before = { globals: Object.getOwnPropertyNames(window),"
        f" probe: {PROBE_STYLE}(document.getElementById('probe')), body: {PROBE_STYLE}(document.body),"
        " sheets: document.styleSheets.length };</script>"
    )
    serve_html(page, f"{api}/hostile.html", host_page(f"{api}/widget.js", api, head=HOSTILE_CSS, body=body))
    page.goto(f"{api}/hostile.html")
    page.wait_for_function("() => !!window.JixiaoQA")

    button = launcher(page)
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box and 40 <= box["width"] <= 200 and 40 <= box["height"] <= 80
    open_widget(page)
    panel = dialog(page).bounding_box()
    assert panel and panel["width"] >= 380 and panel["height"] >= 400
    styles = page.evaluate(
        """() => { const r = document.querySelector('jixiao-qa-widget').shadowRoot;
                   const cs = s => getComputedStyle(r.querySelector(s));
                   return { input: cs('.jx-input').fontSize, root: cs('.jx-root').fontSize,
                            send: cs('.jx-send').backgroundColor, header: cs('.jx-header').display }; }"""
    )
    assert styles == {"input": "14px", "root": "14px", "send": "rgb(31, 95, 191)", "header": "flex"}

    ask(page, LOOKUP)
    wait_idle(page)
    expect(last_reply(page)).to_contain_text("388.07万元")
    shot(page, artifacts, "08-hostile-host-css")

    after = page.evaluate(
        f"""() => ({{ probe: {PROBE_STYLE}(document.getElementById('probe')), body: {PROBE_STYLE}(document.body),
                    sheets: document.styleSheets.length,
                    globals: Object.getOwnPropertyNames(window).filter(n => !window.__before.globals.includes(n)) }})"""
    )
    before = page.evaluate("() => window.__before")
    assert after["probe"] == before["probe"] and "40px" in after["probe"]
    assert after["body"] == before["body"]
    assert after["sheets"] == before["sheets"], "the widget adds no style sheet to the host document"
    assert sorted(after["globals"]) == ["JixiaoQA", "__before"], "one namespaced global"


# ---- 7: 360 px, keyboard, roles ------------------------------------------------------------------------------


def test_small_screen_keyboard_and_roles(browser: Any, api: str, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{api}/")
        button = launcher(page)
        expect(button).to_have_attribute("aria-expanded", "false")
        button.focus()
        page.keyboard.press("Enter")
        expect(dialog(page)).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "true")
        assert "jx-input" in active(page)
        box = dialog(page).bounding_box()
        assert box and box["x"] == 0 and box["width"] == 360, f"full width at 360 px: {box}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, "no horizontal overflow"

        # Roles and labels.
        expect(page.get_by_role("log", name="对话记录")).to_be_attached()
        expect(page.get_by_role("button", name="关闭问答窗口")).to_be_visible()
        expect(page.get_by_role("button", name="清空对话")).to_be_visible()
        expect(page.get_by_role("button", name="发送")).to_be_visible()
        expect(page.get_by_role("button", name="停止生成回答")).to_be_disabled()

        # Tab order: input → send (stop is disabled while idle); Shift+Tab back.
        page.keyboard.press("Tab")
        assert "jx-send" in active(page)
        page.keyboard.press("Shift+Tab")
        assert "jx-input" in active(page)

        # While an answer is pending, Tab from the input reaches the stop button, and Enter on it cancels.
        pending: list[Any] = []
        page.route("**/v1/ask/stream", lambda route: pending.append(route))
        question_box(page).fill(HEADLINE)
        page.keyboard.press("Enter")
        expect(stop_button(page)).to_be_enabled()
        page.keyboard.press("Tab")
        assert "jx-stop" in active(page)
        shot(page, artifacts, "09-mobile-360-pending")
        page.keyboard.press("Enter")
        expect(last_reply(page)).to_contain_text("已停止")
        assert_usable(page)
        for route in pending:
            try:
                route.abort()
            except Exception:  # the browser already cancelled the request
                pass
        page.unroute("**/v1/ask/stream")

        ask(page, HEADLINE)
        wait_idle(page)
        expect(unit_rows(page)).to_have_count(2)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        shot(page, artifacts, "10-mobile-360-answer")

        question_box(page).focus()
        page.keyboard.press("Escape")
        expect(dialog(page)).to_be_hidden()
        expect(button).to_have_attribute("aria-expanded", "false")
        assert "jx-launcher" in active(page), "Escape returns focus to the floating button"
    finally:
        context.close()


# ---- 8: error states, empty question, stop mid-stream -------------------------------------------------------------


def test_error_states_are_chinese_and_never_freeze_the_panel(page: Any, api: str, artifacts: Path) -> None:
    mode = {"value": "pass"}
    calls: list[str] = []
    seen_auth: list[str | None] = []

    def fake(route: Any) -> None:
        calls.append(mode["value"])
        seen_auth.append(route.request.headers.get("authorization"))
        m = mode["value"]
        if m == "offline":
            route.abort("internetdisconnected")
        elif m == "429":
            route.fulfill(status=429, headers={"Retry-After": "17"}, json={"detail": "请求过于频繁，请稍后再试"})
        elif m in ("401", "403"):
            route.fulfill(
                status=int(m), json={"detail": "API 密钥无效" if m == "401" else "此密钥只能在允许的网页来源中使用"}
            )
        elif m == "500":
            route.fulfill(status=500, json={"detail": "服务器内部错误"})
        elif m == "502":
            route.fulfill(status=502, content_type="text/html", body="<html>Bad Gateway</html>")
        elif m == "truncated":
            route.fulfill(
                status=200,
                content_type="text/event-stream",
                body='event: citations\ndata: {"kind": "lookup", "citations": []}\n\nevent: delta\ndata: {"text": "半截"}\n\n',
            )
        else:
            route.continue_()

    # The API key travels on every request; here a fake key on a page served by route.
    serve_html(page, f"{api}/errors.html", host_page(f"{api}/widget.js", api, key="demo-key"))
    page.route("**/v1/ask/stream", fake)
    page.goto(f"{api}/errors.html")
    open_widget(page)

    # Empty and whitespace-only questions: inline Chinese error, no request.
    send_button(page).click()
    error = page.locator(f"{W} .jx-input-error")
    expect(error).to_have_text("请输入问题后再发送。")
    expect(question_box(page)).to_have_attribute("aria-invalid", "true")
    question_box(page).fill("   ")
    question_box(page).press("Enter")
    expect(error).to_have_text("请输入问题后再发送。")
    shot(page, artifacts, "11-empty-question")
    question_box(page).fill("赫")
    expect(error).to_be_empty()
    assert calls == []

    cases = [
        ("offline", "无法连接问答服务", "12-error-network"),
        ("429", "请求过于频繁，请稍后再试。（约 17 秒后可重试）", "13-error-429"),
        ("401", "密钥无效或无权限", None),
        ("403", "密钥无效或无权限", None),
        ("500", "服务暂时不可用", "14-error-500"),
        ("502", "服务暂时不可用", None),
        ("truncated", "回答中断", None),
    ]
    for m, message, step in cases:
        mode["value"] = m
        ask(page, LOOKUP)
        reply = last_reply(page)
        expect(reply).to_contain_text(message)
        expect(reply).to_have_attribute("role", "alert")
        assert_usable(page)
        if step:
            shot(page, artifacts, step)
    assert calls == [m for m, _, _ in cases]
    assert set(seen_auth) == {"Bearer demo-key"}

    # 重试 after a 5xx, now that the service is back, and a normal question afterwards.
    mode["value"] = "500"
    ask(page, LOOKUP)
    expect(last_reply(page)).to_contain_text("服务暂时不可用")
    wait_idle(page)
    mode["value"] = "pass"
    last_reply(page).get_by_role("button", name="重试").click()
    wait_idle(page)
    expect(last_reply(page)).to_contain_text("388.07万元")
    ask(page, HEADLINE)
    wait_idle(page)
    expect(unit_rows(page)).to_have_count(2)


def test_stop_button_cancels_a_slow_stream(page: Any, api: str, host_site: Any, artifacts: Path) -> None:
    host_site.reset()
    host_site.pages["/slow.html"] = host_page(f"{api}/widget.js", host_site.url)
    page.goto(f"{host_site.url}/slow.html")
    open_widget(page)
    ask(page, "慢速问题")
    reply = last_reply(page)
    expect(reply).to_contain_text("正在缓慢生成回答")
    expect(reply.locator(".jx-chip")).to_have_count(1)  # chips render while the text is still streaming
    expect(reply).to_contain_text("…………")  # more deltas keep arriving
    expect(stop_button(page)).to_be_enabled()
    expect(send_button(page)).to_be_disabled()
    question_box(page).fill("下一个问题")
    question_box(page).press("Enter")  # a second question while busy is refused politely
    expect(page.locator(f"{W} .jx-input-error")).to_contain_text("停止")
    stop_button(page).click()
    expect(reply).to_contain_text("（已停止）")
    assert host_site.disconnected.wait(10), "stopping really cancels the HTTP request"
    partial = reply.locator(".jx-text").inner_text()
    page.wait_for_timeout(800)
    assert reply.locator(".jx-text").inner_text() == partial, "no more text after stop"
    shot(page, artifacts, "15-stopped")
    wait_idle(page)

    # Still usable: the next question streams again and can be stopped again.
    host_site.reset()
    ask(page, "慢速问题二")
    expect(last_reply(page)).to_contain_text("正在缓慢生成回答")
    stop_button(page).click()
    expect(last_reply(page)).to_contain_text("（已停止）")
    assert host_site.disconnected.wait(10)
    wait_idle(page)


def test_copy_answer_falls_back_without_clipboard_api(page: Any, api: str, artifacts: Path) -> None:
    """Without navigator.clipboard (e.g. plain http on an intranet host) copying uses a textarea + execCommand."""
    page.add_init_script(
        """Object.defineProperty(navigator, 'clipboard', { get: () => undefined });
           document.addEventListener('copy', e => { window.__copied = e.composedPath()[0].value; }, true);"""
    )
    page.goto(f"{api}/")
    js_ask(page, LOOKUP)
    wait_idle(page)
    reply = last_reply(page)
    reply.get_by_role("button", name="复制回答").click()
    expect(reply.locator(".jx-copy-status")).to_have_text("已复制")
    copied = page.evaluate("() => window.__copied")
    assert (
        "388.07万元" in copied and "\n\n来源：\n[1] 益阳市赫山区投资促进服务中心｜001_5adf402d10fbcc74.txt｜" in copied
    )
    assert page.locator(f"{W} textarea").count() == 1, "the helper textarea is removed again"
