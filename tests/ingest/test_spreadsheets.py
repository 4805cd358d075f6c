"""Spreadsheets read sheet by sheet as tables (issue #20), and every new reader's hostile inputs refused with the
project's own errors: corrupt and bomb images, a PDF without pages, a sheet "used" down a million empty rows,
spreadsheet zip bombs and damaged workbooks."""

from __future__ import annotations

import io

import pytest

from ingest.document import IngestError, ReadLimits, TooLargeError
from ingest.readers import read_bytes
from tests.support.hostile_files import Hostile, hostile_files, xlsx_bytes, xlsx_with_empty_rows

ROWS = [
    ["财政拨款“三公”经费支出决算表"],
    ["单位：万元"],
    ["项目", "预算数", "决算数"],
    ["因公出国（境）费", 0, 0],
    ["公务接待费", 2.85, 0.39],
]
EXPECTED = [
    "财政拨款“三公”经费支出决算表",
    "单位：万元",
    "三公经费 · 因公出国（境）费 · 预算数 0 · 决算数 0",
    "三公经费 · 公务接待费 · 预算数 2.85 万元 · 决算数 0.39 万元",
]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def test_xlsx_sheets_are_tables_named_by_the_sheet() -> None:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first.title = "三公经费"
    for row in ROWS:
        first.append(row)
    second = book.create_sheet("人员")
    second.append(["科室", "编制数", "实有人数"])
    second.append(["办公室", 5, 4])
    second.append(["=1+1", None, None])  # a formula without a cached value reads as what Excel shows: nothing
    buf = io.BytesIO()
    book.save(buf)
    doc = read_bytes(buf.getvalue(), "决算附表.xlsx")
    assert doc.fmt == "xlsx"
    assert _lines(doc.text) == ["三公经费", *EXPECTED, "人员", "人员 · 办公室 · 编制数 5 · 实有人数 4"]
    record = next(r for r in doc.records if doc.text[r.start : r.end].endswith("0.39 万元"))
    assert (record.position.table, record.position.row, record.position.col_start, record.position.col_end) == (
        0,
        2,
        0,
        3,
    )


def test_xls_and_csv_read_the_same_table() -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("三公经费")
    for i, row in enumerate(ROWS):
        for j, value in enumerate(row):
            sheet.write(i, j, value)
    buf = io.BytesIO()
    book.save(buf)
    xls = read_bytes(buf.getvalue(), "决算附表.xls")
    assert xls.fmt == "xls" and _lines(xls.text) == ["三公经费", *EXPECTED]
    csv_text = "\n".join(",".join(str(v) for v in row) for row in ROWS[2:])
    csv = read_bytes(("单位：万元\n" + csv_text).encode("gb18030"), "三公经费.csv")  # GBK, as Excel saves it
    assert csv.fmt == "csv"
    assert _lines(csv.text) == [
        "单位：万元",
        "因公出国（境）费 · 预算数 0 · 决算数 0",
        "公务接待费 · 预算数 2.85 万元 · 决算数 0.39 万元",
    ]


@pytest.mark.timeout(60)  # a guard against minutes of streaming, not a benchmark
def test_a_million_empty_rows_after_the_data_end_the_sheet() -> None:
    doc = read_bytes(xlsx_with_empty_rows(1_000_000, data_rows=2), "空行.xlsx")
    assert _lines(doc.text) == ["收入支出决算总表", "收入支出决算总表 · 一般公共预算财政拨款收入 · 决算数 307.82"]


def test_more_rows_than_the_limit_are_refused() -> None:
    data = xlsx_bytes([["项目", "决算数"], *[[f"第{i}项", i] for i in range(50)]])
    with pytest.raises(TooLargeError, match="QA_MAX_SHEET_ROWS"):
        read_bytes(data, "大表.xlsx", ReadLimits(10**9, 100, 100, max_sheet_rows=20))
    with pytest.raises(TooLargeError, match="QA_MAX_SHEET_ROWS"):
        read_bytes(
            "\n".join(f"a{i},{i}" for i in range(50)).encode(),
            "大表.csv",
            ReadLimits(10**9, 100, 100, max_sheet_rows=20),
        )


@pytest.mark.parametrize("hostile", hostile_files(), ids=lambda h: h.name)
def test_hostile_files_are_refused_with_a_clear_reason(hostile: Hostile) -> None:
    with pytest.raises(IngestError) as caught:
        read_bytes(hostile.data, hostile.name)
    assert isinstance(caught.value, hostile.error), caught.value
    assert caught.value.source == hostile.name and hostile.reason in caught.value.reason
