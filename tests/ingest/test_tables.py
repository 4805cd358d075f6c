"""Tables as data (ingest.tables): a grid of cells → one self-contained record line per data row (table name · row
label · column value …), with where its cells are. The readers' tests check the same on real files."""

from __future__ import annotations

from dataclasses import replace

from ingest.document import TablePosition
from ingest.tables import (
    GridCell,
    TableGrid,
    TableLines,
    caption_of,
    grid_from_cells,
    grid_from_rows,
    is_unit_line,
    row_line,
    squash,
    unit_of_measure,
)


def _texts(lines: list) -> list[str]:  # type: ignore[type-arg]
    return [line.text for line in lines]


def test_plain_rows_units_and_captions() -> None:
    assert row_line(["", "十、节能环保支出", "", ""]) == "十、节能环保支出 |"  # one cell left: still a row
    assert row_line(["a", "", "b", ""]) == "a |  | b" and row_line(["", ""]) == "" and row_line(["x"]) == "x"
    assert [unit_of_measure(t) for t in ("金额单位：万元", "（单位：元）", "无")] == ["万元", "元", ""]
    assert is_unit_line("单位：万元") and not is_unit_line("本表单位：万元，" + "长" * 30)
    assert caption_of(["收入支出决算总表", "单位：万元"]) == ("收入支出决算总表", "万元")
    assert caption_of(["财政拨款“三公”经费支出决算表（单位：万元）"]) == ("财政拨款“三公”经费支出决算表", "万元")
    assert caption_of(["说明如下。", "单位：万元"]) == ("", "万元")  # a sentence is no table name
    assert caption_of([]) == ("", "") and squash("  a \n b\t c ") == "a b c"


def test_each_data_row_is_a_record_line_with_its_position() -> None:
    grid = grid_from_rows(
        [["项目", "预算数", "决算数"], ["公务接待费", "2.85", "0.39"], ["因公出国（境）费", "0", "0"]],
        caption="三公经费",
        unit="万元",
    )
    lines = TableLines().lines(grid)
    assert _texts(lines) == [
        "三公经费 · 公务接待费 · 预算数 2.85 万元 · 决算数 0.39 万元",  # amounts carry the table's unit
        "三公经费 · 因公出国（境）费 · 预算数 0 · 决算数 0",  # counts do not
    ]
    assert [line.position for line in lines] == [TablePosition(0, 1, 0, 3), TablePosition(0, 2, 0, 3)]


def test_a_two_sided_table_gives_a_line_per_side() -> None:
    grid = grid_from_rows(
        [
            ["收入", "决算数", "支出", "决算数"],
            ["一、一般公共预算财政拨款收入", "307.82", "一、一般公共服务支出", "264.87"],
        ],
        caption="收入支出决算总表",
        unit="万元",
    )
    lines = TableLines().lines(grid)
    assert _texts(lines) == [
        "收入支出决算总表 · 一、一般公共预算财政拨款收入 · 决算数 307.82 万元",
        "收入支出决算总表 · 一、一般公共服务支出 · 决算数 264.87 万元",
    ]
    assert [(p.col_start, p.col_end) for p in (line.position for line in lines) if p] == [(0, 2), (2, 4)]


def test_a_table_without_row_labels_is_read_per_column_group() -> None:
    """The "三公" table: one row of amounts under a header of column groups."""
    grid = grid_from_rows(
        [["因公出国（境）费", "公务接待费", "公务接待费"], ["", "预算数", "决算数"], ["0.00", "2.85", "0.39"]],
        caption="三公表",
        unit="万元",
    )
    assert _texts(TableLines().lines(grid)) == [
        "三公表 · 因公出国（境）费 · 0.00 万元",
        "三公表 · 公务接待费 · 预算数 2.85 万元 · 决算数 0.39 万元",
    ]


def test_text_only_tables_stay_plain_rows_and_empty_merged_headers_give_nothing() -> None:
    plain = TableLines().lines(grid_from_rows([["单位名称", "性质"], ["某某中心", "事业单位"]]))
    assert [(line.text, line.position) for line in plain] == [("单位名称 | 性质", None), ("某某中心 | 事业单位", None)]
    merged = TableGrid(
        ((GridCell("政府性基金", (0, 0)), GridCell("政府性基金", (0, 0))), (GridCell("", (1, 0)), GridCell("", (1, 1))))
    )
    assert TableLines().lines(merged) == []


def test_a_table_continued_on_the_next_page_keeps_its_name_header_and_number() -> None:
    lines = TableLines()
    first = grid_from_rows(
        [["项目", "决算数"], ["一、一般公共服务支出", "264.87"]], caption="收入支出决算总表", unit="万元"
    )
    # The next page repeats the header, names nothing above it: the same table (number 0) continues.
    page2 = replace(grid_from_rows([["项目", "决算数"], ["二、教育支出", "10.00"]]), page=2, may_continue=True)
    other = grid_from_rows([["科室", "人数"], ["办公室", "4"]], caption="人员表")
    assert _texts(lines.lines(first)) == ["收入支出决算总表 · 一、一般公共服务支出 · 决算数 264.87 万元"]
    (continued,) = lines.lines(page2)
    assert continued.text == "收入支出决算总表 · 二、教育支出 · 决算数 10.00 万元"
    assert continued.position == TablePosition(0, 1, 0, 2, page=2)
    (next_table,) = lines.lines(other)
    assert next_table.text == "人员表 · 办公室 · 人数 4" and next_table.position is not None
    assert next_table.position.table == 1


def test_a_grid_from_cell_boxes_spans_merged_cells() -> None:
    """OCR's ruling lines: a header cell over two columns names both; the row's box is the union of its cells."""
    texts = {
        (0, 0, 100, 10): "项目",
        (100, 0, 300, 10): "公务接待费",
        (0, 10, 100, 20): "",
        (100, 10, 200, 20): "预算数",
        (200, 10, 300, 20): "决算数",
        (0, 20, 100, 30): "合计",
        (100, 20, 200, 30): "2.85",
        (200, 20, 300, 30): "0.39",
    }
    grid = grid_from_cells(list(texts), lambda box: texts[box], "三公经费表", "万元", 3, False)  # type: ignore[index]
    assert [(c.text, c.origin) for c in grid.rows[0]] == [
        ("项目", (0, 0)),
        ("公务接待费", (0, 1)),
        ("公务接待费", (0, 1)),
    ]
    (line,) = TableLines().lines(grid)
    assert line.text == "三公经费表 · 合计 · 公务接待费 预算数 2.85 万元 · 公务接待费 决算数 0.39 万元"
    assert line.position == TablePosition(0, 2, 0, 3, page=3, bbox=(0, 20, 300, 30))
