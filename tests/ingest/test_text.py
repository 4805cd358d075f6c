"""The text rules ingest and answering share (ingest.text): table rows and record lines, a record line's row label,
the text a chunk is indexed by, sentence spans."""

from __future__ import annotations

import pytest

from ingest.text import index_text, is_record_row, is_table_row, record_label, sentence_spans, text_units

RECORD = "收入支出决算总表 · 一、一般公共预算财政拨款收入 · 决算数 307.82 万元"


@pytest.mark.parametrize(
    ("line", "record", "table"),
    [
        (RECORD, True, True),
        ("公务接待费 · 预算数 2.85 万元", True, True),
        ("本单位 · 严格执行预算。", False, False),  # a sentence with a middle dot is no record line
        ("项目 | 预算数 | 执行数", False, True),
        ("十、节能环保支出 |", False, True),  # one cell left: still a row, never a heading
        ("a|b", False, False),  # a bar inside a word is no cell separator
        ("一、基本情况", False, False),
    ],
)
def test_table_rows_and_record_lines(line: str, record: bool, table: bool) -> None:
    assert (is_record_row(line), is_table_row(line)) == (record, table)


def test_record_label_is_the_row_label_without_its_code_or_numbering() -> None:
    assert record_label("一般公共预算财政拨款基本支出决算表 · 30107 绩效工资 · 决算数 12.3 万元") == "绩效工资"
    assert record_label(RECORD) == "一般公共预算财政拨款收入"
    assert record_label("公务接待费 · 预算数 2.85 万元") == ""  # no table name before the label: not known
    assert record_label("预算编制不够细化。") == ""


def test_index_text_names_who_and_where_before_the_passage() -> None:
    assert index_text("正文", unit="某局", title="标题", section="一、问题") == "某局｜一、问题\n正文"
    assert index_text("正文", unit="", title="标题", section="") == "标题\n正文"  # no unit: the title says who


def test_sentence_spans_end_at_punctuation_lines_and_table_rows() -> None:
    text = "一、问题\n预算编制不够细化。缺乏人才；\n项目 | 预算数\n这是一个没有句号的句子"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "一、问题",
        "预算编制不够细化。",
        "缺乏人才；",
        "项目 | 预算数",
        "这是一个没有句号的句子",
    ]
    assert sentence_spans(text, 5, 18) == [(5, 14), (14, 18)]  # absolute offsets of a part of the text
    quoted = "他说：“好。”然后走了。"
    assert [quoted[s:e] for s, e in sentence_spans(quoted)] == ["他说：“好。”", "然后走了。"]  # the quote stays


def test_text_units_cut_a_run_on_sentence_at_commas() -> None:
    long = "甲" * 30 + "，" + "乙" * 30 + "，" + "丙" * 30 + "。"
    units = [long[s:e] for s, e in text_units(long, 0, len(long), size=20)]
    assert "".join(units) == long and all(len(u) <= 40 for u in units)
    # Cut at a comma when one lies in the second half of the size, else at the size itself.
    assert units == ["甲" * 20, "甲" * 10 + "，", "乙" * 20, "乙" * 10 + "，", "丙" * 30 + "。"]
