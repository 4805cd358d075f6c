"""Findings as a spreadsheet (qa.findings.export): a row per finding, cells that can never become formulas."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from ingest.schema import DocFields
from qa.findings import CategoryLabel, Finding, Span
from qa.findings.export import to_csv, to_xlsx


def test_export_cells_never_become_formulas() -> None:
    sneaky = '=HYPERLINK("http://x","点击")'
    doc = DocFields("d", "=a.txt", "", "+单位", "", 2021, "其他")
    f = Finding(
        "d-f000",
        doc,
        "problem",
        "-章节",
        "",
        sneaky,
        0,
        len(sneaky),
        (Span(sneaky, 0, len(sneaky)),),
        (CategoryLabel("@分类", 0.9, Span(sneaky, 0, 5)),),
        0,
    )
    row = next(csv.reader(io.StringIO(to_csv([f]).decode("utf-8-sig").split("\r\n", 1)[1])))
    assert (
        row[0] == "'+单位"
        and row[5] == "'@分类"
        and row[6] == "'" + sneaky
        and row[7] == "'=a.txt"
        and row[8] == "'-章节"
    )
    cells = next(iter(load_workbook(io.BytesIO(to_xlsx([f]))).active.iter_rows(min_row=2)))
    assert cells[6].value == sneaky and cells[6].data_type == "s"
