"""Internal objects → API bodies (qa.api.convert): one citation shape for search hits, answers and findings, the
one-line source label, and an answer's units, near misses and non-empty filters. Built by hand, no server."""

from __future__ import annotations

from ingest.schema import DocFields
from qa.answering.result import Answer, Citation, UnitEvidence
from qa.api.convert import answer_out, finding_citation, finding_out, hit_out, source_label
from qa.findings import CategoryLabel, Finding, Span
from qa.retrieve import Filters, Hit

DOC = DocFields("d1", "a.txt", "甲报告", "甲局", "某市", 2021, "其他")
ROW = {"table": 0, "table_row": 1, "col_start": 0, "col_end": 3}
HIT = Hit("d1-00003", DOC, "一、问题", "problems", "预算编制不够细化。", 100, 109, 3, 0.5, ROW)
FINDING = Finding(
    "d1-f000",
    DOC,
    "problem",
    "一、问题",
    "",
    "预算编制不够细化。人才缺乏。",
    100,
    115,
    (Span("预算编制不够细化。", 100, 109), Span("人才缺乏。", 109, 115)),
    (
        CategoryLabel("预算编制不够细化", 0.8, Span("预算编制不够细化。", 100, 109)),
        CategoryLabel("专业人才缺乏", 0.6, Span("人才缺乏。", 109, 115)),
    ),
    0,
)


def test_a_search_hit_is_a_citation_with_its_table_position() -> None:
    assert hit_out(HIT).model_dump() == {
        "id": "d1-00003",
        "doc_id": "d1",
        "source": "a.txt",
        "unit": "甲局",
        "year": 2021,
        "title": "甲报告",
        "section": "一、问题",
        "text": "预算编制不够细化。",
        "char_start": 100,
        "char_end": 109,
        "score": 0.5,
        "position": {**ROW, "page": None, "bbox": None},
    }


def test_the_source_label_names_who_when_where_and_which_characters() -> None:
    assert source_label(hit_out(HIT)) == "甲局（2021年）· 一、问题 · a.txt · 字符 100–109"
    bare = Hit("d2-00000", DocFields("d2", "b.txt", "", "", "", None, "其他"), "", "", "x", 0, 1, 0, 0.1)
    assert source_label(hit_out(bare)) == "b.txt（年份未知）· 正文 · b.txt · 字符 0–1"


def test_an_answer_body_keeps_units_near_misses_and_only_the_filters_set() -> None:
    ans = Answer(
        "甲局：预算编制不够细化。[1]",
        "aggregate",
        "哪些单位提到预算编制不够细化？",
        [Citation(1, HIT, "预算编制不够细化", 100, 108, 0.9)],
        [UnitEvidence("甲局", "d1", "a.txt", (1,))],
        [UnitEvidence("乙局", "d2", "b.txt", (1,), "仅在措施中提到")],
        Filters(year=2021, unit=""),
    )
    out = answer_out(ans)
    assert out.filters == {"year": 2021}  # unset and empty filters are left out
    assert [(c.id, c.text, c.char_end, c.position is not None) for c in out.citations] == [
        (1, "预算编制不够细化", 108, True)  # the citation's own span, not the whole chunk's
    ]
    assert [(u.unit, u.citation_ids, u.reason) for u in out.units or []] == [("甲局", [1], None)]
    assert [(u.unit, u.reason) for u in out.related] == [("乙局", "仅在措施中提到")]
    assert (out.kind, out.unsupported_dropped, out.composer) == ("aggregate", 0, "extractive")
    assert answer_out(Answer("未找到。", "unanswerable", "q")).units is None


def test_a_finding_is_cited_like_an_answer_with_its_best_category_as_score() -> None:
    whole = finding_citation(FINDING)
    assert (whole.id, whole.text, whole.char_start, whole.char_end, whole.score) == (
        "d1-f000",
        "预算编制不够细化。人才缺乏。",
        100,
        115,
        0.8,
    )
    assert finding_citation(FINDING, FINDING.sentences[1]).text == "人才缺乏。"  # one sentence of it
    out = finding_out(FINDING)
    assert list(out.model_dump())[:2] == ["finding_id", "doc_id"]
    assert [(c.name, c.sentence) for c in out.categories] == [
        ("预算编制不够细化", "预算编制不够细化。"),
        ("专业人才缺乏", "人才缺乏。"),
    ]
    assert out.citation.id == "d1-f000"
    plain = Finding("d1-f001", DOC, "measure", "", "", "x", 0, 1, (Span("x", 0, 1),), (), 1)
    assert finding_citation(plain).score == 0.0  # no category: no confidence
