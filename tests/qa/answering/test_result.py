"""What an answer is (qa.answering.result): a decline with the nearest passages, citations numbered in order and
grouped by unit (the file name when a report names none), quoted lines with their markers. Built by hand, no store."""

from __future__ import annotations

from ingest.schema import DocFields
from qa.answering.result import Answer, Citation, Page, UnitEvidence, decline, group, quote, unit_line
from qa.evidence import Sentence
from qa.retrieve import Filters, Hit
from qa.understand import Understood

A = DocFields("a", "a.txt", "甲报告", "甲局", "", 2021, "其他")
B = DocFields("b", "b.txt", "乙报告", "", "", 2021, "其他")  # names no unit


def hit(doc: DocFields, i: int, text: str, score: float) -> Hit:
    return Hit(f"{doc.doc_id}-{i:05d}", doc, "一、问题", "problems", text, 10 * i, 10 * i + len(text), i, score)


H1, H2, H3 = (
    hit(A, 0, "预算编制不够细化。", 0.91234),
    hit(A, 1, "绩效目标不明确。", 0.8),
    hit(B, 0, "专业人才缺乏。", 0.7),
)
U = Understood("原问题", "问题？", "lookup", "问题", Filters(year=2021))


def test_a_decline_offers_up_to_three_nearest_passages() -> None:
    ans = decline(U, "未在已收录报告中找到相关内容。", [H1, H2, H3, H1])
    assert ans.answer == "未在已收录报告中找到相关内容。以下是最接近的段落，供参考：[1][2][3]"
    assert (ans.kind, ans.resolved_question, ans.units, ans.filters) == (
        "unanswerable",
        "问题？",
        None,
        Filters(year=2021),
    )
    assert [(c.id, c.hit.id, c.text, c.score) for c in ans.citations] == [
        (1, "a-00000", "预算编制不够细化。", 0.9123),  # scores rounded for display
        (2, "a-00001", "绩效目标不明确。", 0.8),
        (3, "b-00000", "专业人才缺乏。", 0.7),
    ]
    bare = decline(U, "未找到。", [])
    assert bare.answer == "未找到。" and bare.citations == []


def test_group_numbers_citations_after_the_existing_ones_and_keeps_each_units_first_reason() -> None:
    sentences = [
        Sentence(H1, H1.text, H1.char_start, H1.char_end, 0.9),
        Sentence(H3, H3.text, 0, 7, 0.7),
        Sentence(H2, " 绩效目标不明确。 ", 10, 18, 0.6),
    ]
    citations = [Citation(1, H1, "已有的引用", 0, 1, 1.0)]
    units = group(sentences, citations, ["第一个原因", "第二个原因", "第三个原因"])
    assert [c.id for c in citations] == [1, 2, 3, 4]
    assert units == [
        UnitEvidence("甲局", "a", "a.txt", (2, 4), "第一个原因"),
        UnitEvidence("b.txt", "b", "b.txt", (3,), "第二个原因"),  # the file name stands in for the unit
    ]
    assert group([], citations) == [] and len(citations) == 4
    assert unit_line("1. ", units[0], citations) == "1. 甲局：预算编制不够细化。[2]绩效目标不明确。[4]"
    assert quote(citations, 4) == "绩效目标不明确。[4]"  # the quoted text without its surrounding spaces


def test_a_page_is_a_window_of_the_units_and_says_where_the_next_starts() -> None:
    assert Page().window(7) == range(0, 7)
    assert Page(0, 3).window(7) == range(0, 3) and Page(6, 3).window(7) == range(6, 7)
    assert Page(9, 3).window(7) == range(9, 9)  # past the end: nothing, not the last page again
    ue = UnitEvidence("甲局", "a", "a.txt", (1,))
    assert Answer("", "aggregate", "", units=[ue] * 3, total_units=7, offset=3).next_offset == 6
    assert Answer("", "aggregate", "", units=[ue], total_units=7, offset=6).next_offset is None
    assert Answer("", "aggregate", "", units=[], total_units=7, offset=9).next_offset is None
    assert Answer("", "lookup", "").next_offset is None
