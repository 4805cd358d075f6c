"""Spreadsheets (.xlsx, .xls, .csv) → sheets of rows, read as tables (ingest.tables) sheet by sheet.

Reading is bounded whatever a file declares: openpyxl streams .xlsx in read-only mode (values, not formulas:
`data_only`), stops at the sheet's declared used range, and a sheet is left after `_MAX_EMPTY_RUN`
consecutive empty rows (a sheet "used" down to row 1,048,576 with nothing in it costs a few milliseconds,
not the ~10 s of streaming a million empty rows); at most `_MAX_COLUMNS` columns are read; more than
`ReadLimits.max_sheet_rows` non-empty rows is refused. The zip-bomb checks of the .xlsx container are the
docx ones (ingest.readers), done before this module sees the bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.tables import TableGrid, grid_from_rows, squash, unit_of_measure

_MAX_EMPTY_RUN = 1000
_MAX_COLUMNS = 256


class SheetError(Exception):
    """A spreadsheet that cannot be read; `too_large` when it is refused for its size."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: tuple[tuple[str, ...], ...]  # non-empty rows, trailing empty cells dropped; empty rows kept as ()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        # Amounts as written in a report: 307.82, not 307.81999999999999; integers without ".0".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.10g}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return squash(str(value))


class _Counter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows = 0

    def add(self) -> None:
        self.rows += 1
        if self.rows > self.limit:
            raise SheetError(f"表格非空行数超过上限 {self.limit} 行（QA_MAX_SHEET_ROWS）", too_large=True)


def _bounded(rows: Iterable[Sequence[Any]], counter: _Counter) -> tuple[tuple[str, ...], ...]:
    """Rows as text until the used range ends (_MAX_EMPTY_RUN empty rows in a row); inner empty rows as ()."""
    out: list[tuple[str, ...]] = []
    empty = 0
    for raw in rows:
        cells = [_cell(v) for v in raw[:_MAX_COLUMNS]]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            empty += 1
            if empty >= _MAX_EMPTY_RUN:
                break
            continue
        counter.add()
        if out and empty:
            out.append(())
        empty = 0
        out.append(tuple(cells))
    return tuple(out)


def read_xlsx(data: bytes, max_rows: int) -> list[Sheet]:
    import openpyxl

    counter = _Counter(max_rows)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged package
        raise SheetError("文件已损坏或不是有效的 xlsx") from exc
    try:
        sheets = []
        for ws in book.worksheets:
            try:
                rows = _bounded(ws.iter_rows(values_only=True, max_col=_MAX_COLUMNS), counter)
            except SheetError:
                raise
            except Exception as exc:
                raise SheetError(f"工作表“{ws.title}”已损坏，无法读取") from exc
            sheets.append(Sheet(ws.title, rows))
        return sheets
    finally:
        book.close()


def read_xls(data: bytes, max_rows: int) -> list[Sheet]:
    import xlrd

    counter = _Counter(max_rows)
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # xlrd.XLRDError, struct errors, … for a damaged file
        raise SheetError("文件已损坏或不是有效的 xls") from exc
    try:
        sheets = []
        for index in range(book.nsheets):
            try:
                ws = book.sheet_by_index(index)

                def values(ws: Any = ws) -> Iterator[list[Any]]:
                    for r in range(ws.nrows):
                        row = []
                        for _c, cell in enumerate(ws.row(r)[:_MAX_COLUMNS]):
                            if cell.ctype == xlrd.XL_CELL_DATE:
                                row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                            elif cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_EMPTY):
                                row.append(None)
                            else:
                                row.append(cell.value)
                        yield row

                sheets.append(Sheet(ws.name, _bounded(values(), counter)))
                book.unload_sheet(index)
            except SheetError:
                raise
            except Exception as exc:
                raise SheetError(f"第 {index + 1} 个工作表已损坏，无法读取") from exc
        return sheets
    finally:
        book.release_resources()


def read_csv(text: str, max_rows: int) -> list[Sheet]:
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = _bounded(csv.reader(io.StringIO(text), dialect), _Counter(max_rows))
    except csv.Error as exc:
        raise SheetError(f"CSV 格式错误：{exc}") from exc
    return [Sheet("", rows)]


def sheet_tables(sheet: Sheet) -> Iterator[tuple[list[str], TableGrid | None]]:
    """Each block of a sheet (rows between empty rows): its title lines, then its table. A block's leading rows
    with a single cell are titles ("收入支出决算总表", "单位：万元"); the table is named by the sheet (or by the
    block's title when the sheet holds several tables)."""
    blocks: list[list[tuple[str, ...]]] = [[]]
    for row in sheet.rows:
        if not row:
            blocks.append([])
        else:
            blocks[-1].append(row)
    first = True
    for block in (b for b in blocks if b):
        n = 0
        while n < len(block) and sum(1 for c in block[n] if c) <= 1:
            n += 1
        titles = [next(c for c in row if c) for row in block[:n]]
        unit = next((unit_of_measure(t) for t in titles if unit_of_measure(t)), "")
        named = [t for t in titles if not unit_of_measure(t)]
        caption = sheet.name if first or not named else named[-1]
        first = False
        table = grid_from_rows(block[n:], caption=caption, unit=unit) if n < len(block) else None
        yield titles, table
