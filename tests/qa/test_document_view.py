"""A stored document as the parser saw it (qa.document_view): its chunks in order, and the heading tree parsed again
from the stored text, with the headings a file marked by style alone recovered from the chunks' section paths."""

from __future__ import annotations

from ingest.pipeline import prepare
from ingest.readers import read_bytes, read_document
from qa.document_view import SectionView, chunk_views, sections
from tests.support.samples import S004

MARKDOWN = "# 某局2021年度绩效报告\n\n## 基本情况\n本单位严格执行预算。\n\n## 存在的问题\n一、预算编制不够细化。\n（一）细化方面\n绩效目标不明确。\n"


def test_chunks_in_order_and_the_tree_they_were_labelled_with() -> None:
    doc = prepare(read_document(S004), {}, chunk_size=300, chunk_overlap=0)
    views = chunk_views(list(reversed(doc.rows)))
    assert [v.chunk_index for v in views] == list(range(10))
    assert views[0].chunk_id == doc.rows[0].id and doc.text[views[0].char_start : views[0].char_end] == views[0].text
    tree = sections(doc.text, views)
    assert [(s.title, s.role, s.depth, s.chunks) for s in tree] == [
        ("一、绩效管理工作开展情况", "performance", 0, 8),
        ("三、部门整体支出绩效评价存在的问题", "problems", 0, 1),
        ("四、部门整体支出绩效评价提出的改进措施和建议", "measures", 0, 1),
    ]
    # A section runs to the next heading of its level or above; the last to the end of the text.
    assert [(s.char_start, s.char_end) for s in tree] == [(30, 2103), (2103, 2158), (2158, len(doc.text))]
    assert all(doc.text[s.char_start :].startswith(s.title) for s in tree)


def test_style_only_headings_come_back_from_the_chunks_section_paths() -> None:
    doc = prepare(read_bytes(MARKDOWN.encode(), "报告.md"), {}, chunk_size=300, chunk_overlap=0)
    views = chunk_views(doc.rows)
    assert [v.section for v in views] == ["基本情况", "一、预算编制不够细化 > （一）细化方面"]
    assert "基本情况" not in [s.title for s in sections(doc.text, [])]  # numbering alone does not find it
    assert sections(doc.text, views) == [
        SectionView("基本情况", 0, 1, ("基本情况",), "overview", 14, 37, 1),
        SectionView("一、预算编制不够细化", 0, 1, ("一、预算编制不够细化",), "funds", 37, 65, 0),
        SectionView("（一）细化方面", 1, 2, ("一、预算编制不够细化", "（一）细化方面"), "funds", 49, 65, 1),
    ]
