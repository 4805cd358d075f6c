"""Findings as a spreadsheet (GET /v1/findings/export, `qa findings export`): one row per finding.

- CSV is UTF-8 with a byte-order mark: Excel opens a BOM-less UTF-8 CSV as the system code page (GBK on a
  Chinese Windows) and shows mojibake; with the BOM it reads Chinese correctly, and other tools ignore it.
- A cell that starts with = + - @ (or a tab / carriage return) would be read as a formula by Excel: in CSV it
  gets a leading apostrophe, in xlsx it is written as a text cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Literal

from qa.findings.model import Finding

ExportFormat = Literal["csv", "xlsx"]
FORMATS: tuple[str, ...] = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ROLE_NAMES = {"problem": "问题", "measure": "措施"}
COLUMNS = (
    "单位",
    "地区",
    "年度",
    "报告类型",
    "类型",
    "分类",
    "内容",
    "来源文件",
    "章节",
    "起始字符",
    "结束字符",
    "doc_id",
)
_WIDTHS = (28, 14, 8, 14, 8, 30, 80, 30, 36, 10, 10, 18)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows(findings: Iterable[Finding]) -> Iterable[tuple[str | int, ...]]:
    for f in findings:
        d = f.doc
        yield (
            d.display_unit,
            d.region,
            "" if d.year is None else d.year,
            d.report_kind,
            ROLE_NAMES.get(f.role, f.role),
            "、".join(f.category_names()),
            f.text,
            d.source,
            f.section,
            f.char_start,
            f.char_end,
            d.doc_id,
        )


def _inert(value: str | int) -> str | int:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def to_csv(findings: Sequence[Finding]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(tuple(_inert(v) for v in row) for row in rows(findings))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(findings: Sequence[Finding]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("问题与措施")
    for i, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    n = 0
    for row in rows(findings):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
        n += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{n + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(findings: Sequence[Finding], fmt: ExportFormat) -> bytes:
    return to_xlsx(findings) if fmt == "xlsx" else to_csv(findings)
