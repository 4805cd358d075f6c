"""The demo page's findings view in a real browser (Debian's Chromium via Playwright) against a real `qa serve`:
a bar per category with its number of units, a click lists the units with their cited sentences."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

BUDGET = "预算编制不够细化"
HESHAN = "益阳市赫山区投资促进服务中心"
DAXIANG = "湖南省大祥工业集中区管理委员会"


def bar(page: Any, name: str) -> Any:
    return page.locator(f'#fx-chart .fx-bar[data-category="{name}"]')


def test_findings_chart_lists_units_with_cited_sentences(page: Any, api: str, artifacts: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{api}/")
    section = page.get_by_role("region", name="各单位提到的问题与措施")
    expect(section).to_be_visible()
    expect(bar(page, BUDGET)).to_have_attribute("aria-label", f"{BUDGET}：2 个单位")
    expect(bar(page, BUDGET).locator(".fx-count")).to_have_text("2")
    expect(bar(page, "项目资金未实行专账核算").locator(".fx-count")).to_have_text("1")
    # Longest bar first: bars are ordered by their number of units.
    counts = [int(t or 0) for t in page.locator("#fx-chart .fx-count").all_text_contents()]
    assert counts == sorted(counts, reverse=True) and len(counts) >= 8
    page.locator("#findings").screenshot(path=str(artifacts / "20-findings-chart.png"))

    bar(page, BUDGET).click()
    expect(bar(page, BUDGET)).to_have_attribute("aria-pressed", "true")
    units = page.locator("#fx-units > li")
    expect(units).to_have_count(2)
    expect(units.locator("h3")).to_have_text([f"{HESHAN}（2021年）", f"{DAXIANG}（2021年）"])
    expect(units.nth(0).locator("blockquote")).to_contain_text("预算编制工作有待细化。")
    expect(units.nth(1).locator("blockquote")).to_contain_text("1、预算编制不够细化。")
    expect(units.nth(1).locator("cite")).to_contain_text(
        "004_30f3d27d840c4c9e.txt · 三、部门整体支出绩效评价存在的问题 · 字符"
    )
    expect(page.locator("#fx-status")).to_have_text(f"“{BUDGET}”：2 个单位，2 条")
    page.locator("#findings").screenshot(path=str(artifacts / "21-findings-units.png"))

    # Keyboard: focus another bar and press Enter.
    talent = bar(page, "专业人才缺乏")
    talent.focus()
    page.keyboard.press("Enter")
    expect(units.locator("h3")).to_have_text(["芙蓉区商务局（2021年）", f"{DAXIANG}（2021年）"])
    expect(bar(page, BUDGET)).to_have_attribute("aria-pressed", "false")

    # Measures: another set of bars, the list cleared until a bar is chosen.
    page.get_by_role("button", name="改进措施", exact=True).click()
    expect(page.get_by_role("button", name="改进措施", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(bar(page, "监督和跟踪管理不到位")).to_be_visible()
    expect(units).to_have_count(0)
    bar(page, "监督和跟踪管理不到位").click()
    expect(units.first.locator("blockquote").first).to_be_visible()
    page.locator("#findings").screenshot(path=str(artifacts / "22-findings-measures.png"))
    assert all(u.startswith(api) for u in requests), [u for u in requests if not u.startswith(api)]


def test_findings_view_reports_errors_in_chinese(page: Any, api: str) -> None:
    page.route(
        "**/v1/findings/stats*",
        lambda route: route.fulfill(
            status=401, json={"detail": "缺少 API 密钥（请求头 Authorization: Bearer <密钥>）"}
        ),
    )
    page.goto(f"{api}/")
    expect(page.locator("#fx-status")).to_have_text(
        "无法加载统计：缺少 API 密钥（请求头 Authorization: Bearer <密钥>）"
    )
    expect(page.locator("#fx-chart .fx-bar")).to_have_count(0)


def test_findings_chart_exports_a_spreadsheet(page: Any, api: str, artifacts: Path) -> None:
    from openpyxl import load_workbook

    page.goto(f"{api}/")
    expect(bar(page, BUDGET)).to_be_visible()
    page.get_by_role("button", name="改进措施", exact=True).click()
    expect(bar(page, "监督和跟踪管理不到位")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出 Excel").click()
    assert download.value.suggested_filename == "改进措施.xlsx"
    rows = list(load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][:9] == ("单位", "地区", "年度", "报告类型", "类型", "分类", "内容", "来源文件", "章节")
    assert len(rows) > 5 and {r[4] for r in rows[1:]} == {"措施"}  # the type the chart shows
    assert any("监督和跟踪管理不到位" in (r[5] or "") for r in rows[1:])
    expect(page.locator("#fx-status")).to_contain_text("已导出")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="导出 CSV").click()
    assert Path(csv_download.value.path()).read_bytes().startswith("\ufeff单位,地区".encode())
    page.locator("#findings").screenshot(path=str(artifacts / "23-findings-export.png"))
