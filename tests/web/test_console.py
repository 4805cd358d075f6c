"""The library console (/admin) in a real browser (Debian's Chromium via Playwright) against a real `qa serve`
with keys: a reader key is refused; with the admin key, upload two files and see their rows (a copy under another
name is a duplicate), open a document and see a cited span highlighted, change its year and find it through
/v1/ask filtered by the new year, delete it and see it gone. Screenshots (1280×800 and a phone-sized window) go to test-artifacts/console/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, READER_KEY

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

REPORTS = {
    "控制台测试甲中心.txt": "控制台测试甲中心2023年度部门整体支出绩效评价报告\n一、基本情况\n控制台测试甲中心负责园区档案管理。\n"
    "二、存在的问题\n1、档案数字化进度滞后，部分档案仍为纸质保存。\n2、专业人才缺乏。\n三、改进措施\n1、加快档案数字化建设。\n",
    "控制台测试乙中心.txt": "控制台测试乙中心2023年度项目支出绩效自评报告\n一、项目概况\n乙中心实施园区绿化项目。\n"
    "二、存在的问题\n1、项目资金拨付不及时。\n三、下一步改进措施\n1、按进度及时拨付资金。\n",
}
NEW_YEAR = 2031


@pytest.fixture()
def shots(artifacts: Path) -> Path:
    folder = artifacts.parent / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Any, key: str) -> None:
    page.get_by_role("textbox", name="管理员密钥").fill(key)
    page.get_by_role("button", name="进入").click()


def test_reader_key_is_refused(page: Any, keyed_api: tuple[str, Path], shots: Path) -> None:
    api, _ = keyed_api
    page.goto(f"{api}/admin")
    expect(page.get_by_role("heading", name="请输入管理员密钥")).to_be_visible()
    sign_in(page, READER_KEY)
    expect(page.locator("#login-error")).to_have_text("该密钥不是管理员密钥（角色：只读），不能管理报告库")
    expect(page.locator("#library")).to_be_hidden()
    sign_in(page, "not-a-key")
    expect(page.locator("#login-error")).to_have_text("密钥无效")
    assert page.evaluate("() => sessionStorage.getItem('jixiaoqa:admin-key')") is None, "a refused key is not kept"
    page.screenshot(path=str(shots / "01-reader-key-refused.png"))


def test_upload_open_highlight_edit_year_delete(
    page: Any, context: Any, keyed_api: tuple[str, Path], tmp_path: Path, shots: Path
) -> None:
    api, _ = keyed_api
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(api) and not r.url.startswith("data:") else None,
    )
    page.goto(f"{api}/admin")
    sign_in(page, ADMIN_KEY)
    expect(page.locator("#library")).to_be_visible()
    expect(page.locator("#ready")).to_contain_text("报告")
    expect(page.locator("#ready")).to_contain_text("存储 内嵌")
    stored = len(
        httpx.get(f"{api}/v1/documents", headers=admin).json()
    )  # the shared server may hold more than the samples
    expect(page.locator("#lib-count")).to_have_text(f"共 {stored} 篇")
    expect(page.locator("#docs-body tr")).to_have_count(min(stored, 50))
    assert page.evaluate("() => sessionStorage.getItem('jixiaoqa:admin-key')") == ADMIN_KEY
    page.screenshot(path=str(shots / "02-library.png"))

    # Upload two files at once: per-file progress and result, then their rows in the table.
    paths = []
    for name, text in REPORTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    page.locator("#picker").set_input_files(paths)
    uploads = page.locator("#uploads li")
    expect(uploads).to_have_count(2)
    for name in REPORTS:
        row = uploads.filter(has_text=name)
        expect(row).to_have_attribute("data-status", "new", timeout=60_000)
        expect(row.locator(".state")).to_contain_text("新增")
    page.get_by_label("查找").fill("控制台测试")
    expect(page.locator("#docs-body tr")).to_have_count(2)
    expect(page.locator("#docs-body")).to_contain_text("控制台测试甲中心")
    expect(page.locator("#docs-body")).to_contain_text("控制台测试乙中心")
    expect(page.locator("#lib-count")).to_have_text("共 2 篇")
    page.screenshot(path=str(shots / "03-uploaded.png"))

    # Drag and drop works too (a file dropped on the upload area; Playwright cannot drag from the desktop).
    page.locator("#drop").evaluate(
        """(zone, text) => { const data = new DataTransfer();
             data.items.add(new File([text], '控制台测试丙中心.txt', { type: 'text/plain' }));
             zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })); }""",
        REPORTS["控制台测试乙中心.txt"].replace("乙", "丙"),
    )
    dropped = uploads.filter(has_text="控制台测试丙中心.txt")
    expect(dropped).to_have_attribute("data-status", "new", timeout=60_000)
    expect(page.locator("#docs-body tr")).to_have_count(3)

    # Uploading the same file again: unchanged, nothing new.
    page.locator("#picker").set_input_files(paths[:1])
    expect(uploads.first).to_have_attribute("data-status", "unchanged", timeout=60_000)
    expect(uploads.first.locator(".state")).to_contain_text("未变化")
    # The same content under another file name: a duplicate, nothing stored, the stored file named.
    copy = tmp_path / "控制台测试甲中心-副本.txt"
    copy.write_text(REPORTS["控制台测试甲中心.txt"], encoding="utf-8")
    page.locator("#picker").set_input_files([str(copy)])
    duplicate = uploads.filter(has_text=copy.name)
    expect(duplicate).to_have_attribute("data-status", "duplicate", timeout=60_000)
    expect(duplicate.locator(".state")).to_contain_text("重复，未收录：内容与已收录的 控制台测试甲中心.txt 相同")
    expect(page.locator("#docs-body tr")).to_have_count(3)

    # The document page: metadata, heading tree, chunks, findings; a finding marks its span in the text.
    page.locator("#docs-body").get_by_role("link", name="控制台测试甲中心").click()
    expect(page.locator("#doc-title")).to_have_text("控制台测试甲中心2023年度部门整体支出绩效评价报告")
    expect(page.locator("#doc-meta")).to_contain_text("2023")
    expect(page.locator("#sections")).to_contain_text("二、存在的问题")
    expect(page.locator("#chunks tr")).not_to_have_count(0)
    finding = page.locator("#findings li").filter(has_text="档案数字化进度滞后")
    expect(finding.locator(".fx-role")).to_have_text("问题")
    finding.locator("button.fx-text").click()
    mark = page.locator("#source mark")
    expect(mark).to_have_text("1、档案数字化进度滞后，部分档案仍为纸质保存。")
    expect(mark).to_be_in_viewport()
    expect(page.locator("#text-where")).to_contain_text("二、存在的问题 · 字符")
    page.screenshot(path=str(shots / "04-document-highlight.png"))
    doc_id = page.url.rsplit("/", 1)[1]

    question = {"question": "哪些单位提到档案数字化进度滞后？", "filters": {"year": NEW_YEAR}}
    before = httpx.post(f"{api}/v1/ask", json=question, headers=admin, timeout=120)
    assert before.status_code == 422 and "不匹配任何已收录报告" in before.json()["detail"]

    # Edit the year: saved through PATCH, shown at once, and /v1/ask filtered by the new year finds the report.
    page.get_by_role("button", name="修改元数据").click()
    form = page.locator("#edit-form")
    form.get_by_label("年度").fill("1800")  # out of range: the API's Chinese 422 is shown, nothing saved
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#edit-error")).to_have_text("年度：数值过小")
    form.get_by_label("年度").fill(str(NEW_YEAR))
    page.screenshot(path=str(shots / "05-edit-form.png"))
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#doc-status")).to_contain_text("已保存")
    expect(form).to_be_hidden()
    expect(page.locator("#doc-meta")).to_contain_text(str(NEW_YEAR))
    after = httpx.post(f"{api}/v1/ask", json=question, headers=admin, timeout=120)
    assert after.status_code == 200, after.text
    answer = after.json()
    assert answer["filters"]["year"] == NEW_YEAR
    assert [u["unit"] for u in answer["units"]] == ["控制台测试甲中心"]
    assert {c["doc_id"] for c in answer["citations"]} == {doc_id} and all(
        c["year"] == NEW_YEAR for c in answer["citations"]
    )
    page.screenshot(path=str(shots / "06-year-saved.png"))

    # Delete with confirmation: cancel keeps it, confirm removes it from the table and the API.
    page.get_by_role("button", name="删除报告").click()
    dialog = page.get_by_role("dialog", name="删除报告")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("控制台测试甲中心2023年度部门整体支出绩效评价报告")
    page.screenshot(path=str(shots / "07-delete-confirm.png"))
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    assert httpx.get(f"{api}/v1/documents/{doc_id}", headers=admin).status_code == 200
    page.get_by_role("button", name="删除报告").click()
    dialog.get_by_role("button", name="确认删除").click()
    expect(page.locator("#library")).to_be_visible()
    expect(page.locator("#lib-status")).to_have_text(
        "已删除：控制台测试甲中心2023年度部门整体支出绩效评价报告（控制台测试甲中心.txt）"
    )
    page.get_by_label("查找").fill("控制台测试")
    expect(page.locator("#docs-body tr")).to_have_count(2)  # 乙 and 丙 remain
    expect(page.locator("#docs-body")).not_to_contain_text("控制台测试甲中心")
    assert httpx.get(f"{api}/v1/documents/{doc_id}", headers=admin).status_code == 404

    # A narrow window: the same library, readable.
    narrow = context.new_page()
    narrow.set_viewport_size({"width": 390, "height": 844})
    narrow.goto(f"{api}/admin")  # same tab session storage? a new page is a new tab: the key is asked again
    sign_in(narrow, ADMIN_KEY)
    expect(narrow.locator("#lib-count")).to_have_text(f"共 {stored + 2} 篇")
    narrow.screenshot(path=str(shots / "08-narrow-library.png"), full_page=True)
    narrow.locator("#docs-body").get_by_role("link", name="控制台测试乙中心").click()
    narrow.locator("#findings button.fx-text").first.click()
    expect(narrow.locator("#source mark")).to_be_visible()
    narrow.screenshot(path=str(shots / "09-narrow-document.png"))
    width = narrow.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, "nothing wider than the window"

    for doc in httpx.get(f"{api}/v1/documents", params={"q": "控制台测试"}, headers=admin).json()["items"]:
        assert httpx.delete(f"{api}/v1/documents/{doc['doc_id']}", headers=admin).status_code == 200
    assert not outside, outside
    assert not [u for u in outside if re.search(r"cdn|googleapis|unpkg", u)]
