"""Tables as data: a grid of cells (from a PDF, docx or spreadsheet) → one self-contained text line per row.

A 部门决算 is mostly tables, and a bare row such as "2080505 | 机关事业单位基本养老保险缴费支出 | 446.11 | 446.11"
says nothing on its own: which table, which column, which unit of measure. Each data row therefore becomes a
*record line* that carries them all:

    一般公共预算财政拨款支出决算表 · 2080505 机关事业单位基本养老保险缴费支出 · 合计 446.11 万元 · 基本支出 446.11 万元

(table name · row label · column name value …), multi-row headers merged top-down into one column name, the
unit of measure taken from the table's "单位：万元" line. A two-sided table (收入 | 决算数 | 支出 | 决算数) gives one
line per side; a table without row labels (the "三公" table: one row of numbers under a three-level header)
gives one line per top-level column group. The chunker makes every record line a chunk of its own
(`ingest.text.is_record_row`), so a row can be retrieved and cited alone, and the reader keeps each line's
`TablePosition` (page, table, row, columns, bounding box) for the citation viewer.

Tables split over pages: a table with no caption of its own above it that has as many columns as the table
before it continues that table — its rows get the earlier header, name and unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ingest.document import Box, TablePosition
from ingest.text import CELL_SEP, RECORD_SEP

# An amount, count, code or percentage: what a data row has and a header row has not.
_VALUE = re.compile(r"^[-+]?\(?\d[\d,]*(?:\.\d+)?\)?%?$")
_AMOUNT = re.compile(r"^[-+]?\(?\d[\d,]*\.\d+\)?$|^[-+]?\d{1,3}(?:,\d{3})+$")
# Columns that label a row even though they hold digits.
_CODE_HEADER = re.compile(r"(?:编码|代码|序号|编号|代号)$")
# "单位：万元", "金额单位：万元", "（单位：元）".
_UNIT_LINE = re.compile(r"(?:金额)?单位\s*[：:]\s*(万元|千元|亿元|元|人|个|户|次|%|平方米|亩)")
_MAX_HEADER_ROWS = 6
_MAX_CAPTION = 40
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class GridCell:
    """One grid position. A merged cell covers several positions that share its `origin` (row, col) and text."""

    text: str
    origin: tuple[int, int]
    bbox: Box | None = None


@dataclass(frozen=True)
class TableGrid:
    rows: tuple[tuple[GridCell, ...], ...]  # rectangular
    caption: str = ""  # the table's name (the line above it, the sheet name)
    unit: str = ""  # unit of measure of its amounts (万元)
    page: int | None = None  # 1-based page of a PDF
    may_continue: bool = False  # nothing above it on its page: it may continue the previous table


@dataclass(frozen=True)
class TableLine:
    text: str
    position: TablePosition | None  # None: a line of the table that is not a data row (a title row)


def squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def row_line(cells: Sequence[str]) -> str:
    """One table row as plain text: cells joined with CELL_SEP, empty cells at either end dropped. A row that is
    left with one cell keeps a trailing '|' so that "十、节能环保支出 |" still reads as a row, not a heading."""
    original = len(cells)
    kept = list(cells)
    while kept and not kept[-1]:
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    line = CELL_SEP.join(kept)
    return f"{line} |" if len(kept) == 1 and original > 1 else line


def unit_of_measure(text: str) -> str:
    m = _UNIT_LINE.search(text)
    return m.group(1) if m else ""


def is_unit_line(text: str) -> bool:
    return bool(_UNIT_LINE.search(text)) and len(text) <= 30


def caption_of(lines_above: Sequence[str]) -> tuple[str, str]:
    """(table name, unit of measure) from the text lines right above a table, nearest last: the nearest short
    line that is neither a unit line nor a sentence is its name ("收入支出决算总表" above "单位：万元")."""
    unit = ""
    for line in reversed(lines_above[-3:]):
        unit = unit or unit_of_measure(line)
    for line in reversed(lines_above[-3:]):
        if is_unit_line(line) and not squash(_UNIT_LINE.sub("", line)).strip(" （）()"):
            continue
        name = squash(_UNIT_LINE.sub("", line)).strip(" （）()")
        ok = name and len(name) <= _MAX_CAPTION and name[-1] not in "。；;：:，,"
        return (name if ok else ""), unit
    return "", unit


def grid_from_rows(texts: Sequence[Sequence[str]], *, caption: str = "", unit: str = "") -> TableGrid:
    """A grid without merged cells (spreadsheets, markdown): every position is its own cell."""
    width = max((len(r) for r in texts), default=0)
    rows = tuple(
        tuple(GridCell(squash(r[j]) if j < len(r) else "", (i, j)) for j in range(width)) for i, r in enumerate(texts)
    )
    return TableGrid(rows, caption=caption, unit=unit)


def grid_from_cells(
    cells: Sequence[Box], text_of: Callable[[Box], str], caption: str, unit: str, page: int | None, may_continue: bool
) -> TableGrid:
    """A grid from a table's cell boxes (a lattice: OCR's ruling lines): rows start at the cells' distinct tops,
    columns at their distinct left edges; a cell spans the rows and columns that start inside it."""
    tol = 2.0

    def starts(values: list[float]) -> list[float]:
        out: list[float] = []
        for v in sorted(values):
            if not out or v - out[-1] > tol:
                out.append(v)
        return out

    tops = starts([c[1] for c in cells])
    lefts = starts([c[0] for c in cells])
    grid: list[list[GridCell | None]] = [[None] * len(lefts) for _ in tops]
    for cell in sorted(cells, key=lambda c: (c[1], c[0])):
        rows = [i for i, t in enumerate(tops) if cell[1] - tol <= t < cell[3] - tol]
        cols = [j for j, x in enumerate(lefts) if cell[0] - tol <= x < cell[2] - tol]
        if not rows or not cols:
            continue
        made = GridCell(squash(text_of(cell)), (rows[0], cols[0]), cell)
        for i in rows:
            for j in cols:
                if grid[i][j] is None:
                    grid[i][j] = made
    full = tuple(tuple(c or GridCell("", (i, j)) for j, c in enumerate(r)) for i, r in enumerate(grid))
    return TableGrid(full, caption=caption, unit=unit, page=page, may_continue=may_continue)


def _is_value(text: str) -> bool:
    return bool(_VALUE.match(text.replace(" ", "")))


def _spans_row(row: Sequence[GridCell]) -> bool:
    return len(row) > 1 and len({c.origin for c in row}) == 1


@dataclass
class _Layout:
    """What a table's header says about its columns; shared by the pages a table continues over."""

    table: int
    caption: str
    unit: str
    width: int
    names: list[str]
    segments: list[tuple[list[int], list[int]]]  # (label columns, value columns) of each side / column group
    group_labels: dict[int, str] = field(default_factory=dict)  # segment → label when columns carry no labels
    header: list[list[str]] = field(default_factory=list)  # the header rows' texts (a page may repeat them)


def _texts(row: Sequence[GridCell]) -> list[str]:
    return [squash(c.text) for c in row]


def _column_names(header: Sequence[Sequence[GridCell]], width: int, skip_top: int) -> list[list[str]]:
    """Each column's header parts, top to bottom (a merged header cell names every column under it)."""
    names: list[list[str]] = [[] for _ in range(width)]
    for row in header:
        if _spans_row(row):  # a title row across the whole table is its name, not a column's
            continue
        for j, cell in enumerate(row):
            text = squash(cell.text)
            if text and (not names[j] or names[j][-1] != text):
                names[j].append(text)
    return [parts[skip_top:] if len(parts) > skip_top else parts for parts in names]


def _layout(grid: TableGrid, header_n: int, table: int) -> _Layout:
    layout = _columns(grid, header_n, table)
    layout.header = [_texts(r) for r in grid.rows[:header_n]]
    return layout


def _columns(grid: TableGrid, header_n: int, table: int) -> _Layout:
    width = len(grid.rows[0])
    header = grid.rows[:header_n]
    body = grid.rows[header_n:]
    caption = grid.caption
    if not caption:
        spanning = [squash(r[0].text) for r in header if _spans_row(r) and r[0].text.strip()]
        caption = spanning[0] if spanning else ""
    parts = _column_names(header, width, 0)
    names = [" ".join(p) for p in parts]

    def is_label(j: int) -> bool:
        if _CODE_HEADER.search(names[j].replace(" ", "")):
            return True
        filled = [r[j].text for r in body if r[j].text.strip() and r[j].origin[1] == j]
        return bool(filled) and sum(not _is_value(t) for t in filled) * 2 >= len(filled)

    labels = [is_label(j) for j in range(width)]
    if all(labels) or not any(labels):
        # A table of text only (a list of units) names every cell; one of numbers only ("三公": a row of amounts
        # under a three-level header) is read per top-level column group, that group's name as the row label.
        if all(labels) or not header:
            return _Layout(table, caption, grid.unit, width, names, [([], list(range(width)))])
        segments: list[tuple[list[int], list[int]]] = []
        group_labels: dict[int, str] = {}
        top = [p[0] if p else "" for p in parts]
        for j in range(width):
            if not segments or top[j] != top[j - 1]:
                group_labels[len(segments)] = top[j]
                segments.append(([], []))
            segments[-1][1].append(j)
        names = [" ".join(p[1:]) for p in parts]
        return _Layout(table, caption, grid.unit, width, names, segments, group_labels)
    segments = []
    for j in range(width):
        if labels[j] and (not segments or segments[-1][1]):
            segments.append(([], []))
        if not segments:
            segments.append(([], []))
        (segments[-1][0] if labels[j] else segments[-1][1]).append(j)
    return _Layout(table, caption, grid.unit, width, names, segments)


def _value(text: str, unit: str) -> str:
    text = squash(text)
    return f"{text} {unit}" if unit and _AMOUNT.match(text.replace(" ", "")) else text


def _union(boxes: Sequence[Box | None]) -> Box | None:
    found = [b for b in boxes if b is not None]
    if not found:
        return None
    return (min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found), max(b[3] for b in found))


class TableLines:
    """Record lines of a document's tables, fed in document order (continuations need the table before)."""

    def __init__(self) -> None:
        self._previous: _Layout | None = None
        self._count = 0

    def lines(self, grid: TableGrid) -> list[TableLine]:
        rows = [r for r in grid.rows if any(c.text.strip() for c in r)]
        if not rows or not rows[0]:
            return []
        grid = TableGrid(tuple(rows), grid.caption, grid.unit, grid.page, grid.may_continue)
        width = len(rows[0])
        has_value = [any(_is_value(c.text) for c in r if c.text.strip()) for r in rows]
        prev = self._previous
        if grid.may_continue and prev is not None and prev.width == width:
            # The same table on the next page, perhaps under a repeat of its header.
            layout, header_n = prev, 0
            while (
                header_n < len(prev.header) and header_n < len(rows) and _texts(rows[header_n]) == prev.header[header_n]
            ):
                header_n += 1
        elif not any(has_value):
            if any(c.origin != (i, j) for i, r in enumerate(grid.rows) for j, c in enumerate(r)):
                # A merged header over empty cells (a 政府性基金 table the unit had nothing for): its header rows
                # alone would only match questions about those columns, with nothing to answer them.
                self._previous = None
                return []
            return self._plain(rows)
        else:
            header_n = min(next(i for i, v in enumerate(has_value) if v), _MAX_HEADER_ROWS)
            layout = _layout(grid, header_n, self._count)
        out: list[TableLine] = []
        for i in range(header_n, len(rows)):
            out.extend(self._row_lines(layout, grid, i))
        if not out and layout is not prev:
            return self._plain(rows)
        if layout is not prev:
            self._count += 1
        self._previous = layout
        return out

    def _plain(self, rows: Sequence[Sequence[GridCell]]) -> list[TableLine]:
        """Text only (a list of units) or a header over empty cells: plain rows, nothing to read as data."""
        self._previous = None
        seen: set[tuple[int, int]] = set()
        plain = []
        for r in rows:
            cells = []
            for c in r:
                cells.append(squash(c.text) if c.origin not in seen else "")
                seen.add(c.origin)
            plain.append(row_line(cells))
        return [TableLine(line, None) for line in plain if line]

    def _row_lines(self, layout: _Layout, grid: TableGrid, i: int) -> list[TableLine]:
        row = grid.rows[i]
        out: list[TableLine] = []
        for s, (label_cols, value_cols) in enumerate(layout.segments):
            seen: set[tuple[int, int]] = set()
            label_parts = []
            for j in label_cols:
                cell = row[j]
                if cell.text.strip() and cell.origin not in seen:
                    label_parts.append(squash(cell.text))
                seen.add(cell.origin)
            values = []
            for j in value_cols:
                cell = row[j]
                if cell.text.strip() and cell.origin not in seen:
                    name = layout.names[j]
                    value = _value(cell.text, layout.unit)
                    values.append(f"{name} {value}" if name else value)
                seen.add(cell.origin)
            if not values:
                continue  # a label without amounts ("二、外交支出" left blank) says nothing
            label = " ".join(label_parts) or layout.group_labels.get(s, "")
            fields = [f for f in (layout.caption, label) if f] + values
            cols = label_cols + value_cols
            box = _union([row[j].bbox for j in cols])
            position = TablePosition(layout.table, i, min(cols), max(cols) + 1, grid.page, box)
            out.append(TableLine(RECORD_SEP.join(fields), position))
        return out
