"""The facade (qa.answer.Answerer) on the bundled samples: each question goes to its answer kind — a lookup, an
aggregate, a follow-up about named units, or a decline for what the library does not hold — and the findings view
can be loaded ahead of the first aggregate."""

from __future__ import annotations

import pytest

from qa.answer import Answerer
from qa.retrieve import Retriever
from qa.understand import Turn, understand

HESHAN = "益阳市赫山区投资促进服务中心"
DAXIANG = "湖南省大祥工业集中区管理委员会"


@pytest.fixture(scope="module")
def answerer(sample_retriever: Retriever) -> Answerer:
    return Answerer(sample_retriever)


def test_a_lookup_is_answered_by_the_sentence_with_its_citation(answerer: Answerer) -> None:
    ans = answerer.ask("赫山区投资促进服务中心2021年基本支出是多少？")
    assert ans.kind == "lookup" and ans.units is None
    assert ans.answer.startswith(f"{HESHAN}：2021年基本支出为388.07万元") and ans.answer.endswith("[1]")
    assert [c.id for c in ans.citations] == [1] and "388.07万元" in ans.citations[0].text


def test_an_aggregate_lists_units_and_a_follow_up_answers_per_unit(answerer: Answerer) -> None:
    first = answerer.ask("哪些单位提到预算编制不够细化？")
    assert first.kind == "aggregate" and [u.unit for u in first.units or []] == [HESHAN, DAXIANG]
    assert first.answer.startswith("共有 2 个单位提到“预算编制不够细化”：")
    history = [Turn("user", "哪些单位提到预算编制不够细化？"), Turn("assistant", first.answer)]
    follow = answerer.ask("它们分别提出了什么改进措施？", history)
    assert follow.kind == "aggregate" and follow.resolved_question.startswith(f"{HESHAN}、{DAXIANG}分别")
    assert all(c.hit.section_role == "measures" for c in follow.citations)  # per unit, not a new aggregate


def test_what_the_library_does_not_hold_is_declined_without_passages(answerer: Answerer) -> None:
    ans = answerer.ask("长沙市财政局2021年三公经费是多少？")
    assert (ans.kind, ans.answer, ans.citations) == ("unanswerable", "未在已收录报告中找到长沙市财政局的报告。", [])
    catalogue = list(answerer.retriever.catalogue().values())
    assert answerer.unknown_entity(understand("益阳市资阳区投资促进服务中心2021年基本支出是多少？", [], catalogue)) == (
        f"未在已收录报告中找到益阳市资阳区投资促进服务中心的报告。已收录的相近单位：{HESHAN}。"
    )
    assert answerer.unknown_entity(understand("赫山区投资促进服务中心2021年基本支出是多少？", [], catalogue)) is None


def test_warm_loads_the_findings_view_the_answers_then_use(sample_retriever: Retriever) -> None:
    fresh = Answerer(sample_retriever)
    fresh.warm()
    view = fresh.findings.view()
    assert len(view.table) == 32 and fresh.findings.view() is view  # loaded once, kept
    assert fresh.findings is fresh.ctx.findings.get()
    # What the corpus-wide pass looks candidates up in is ready too, and the first such question uses it as it is.
    lexical, keys = fresh.ctx.entry_keys()
    units = fresh.ctx.doc_units(lexical.doc_names(), sample_retriever.catalogue())
    assert lexical._row_of is not None and set(units) == {
        r.doc.display_unit for r in sample_retriever.catalogue().values()
    }
    assert fresh.ask("哪些单位提到招商引资？").total_units
    assert (
        fresh.ctx.entry_keys()[1] is keys
        and fresh.ctx.doc_units(lexical.doc_names(), sample_retriever.catalogue()) is units
    )
