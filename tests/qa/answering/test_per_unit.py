"""Follow-ups about named units (qa.answering.per_unit) on the bundled samples: each unit's best sentences from its
own report's measures section, read in document order, and a line for a unit with nothing found."""

from __future__ import annotations

from dataclasses import replace

from qa.answer import Answerer
from qa.answering.per_unit import answer_per_unit
from qa.understand import Turn, understand

HEADLINE = "哪些单位提到预算编制不够细化？"
HESHAN = "益阳市赫山区投资促进服务中心"
DAXIANG = "湖南省大祥工业集中区管理委员会"


def _follow_up(answerer: Answerer) -> list[Turn]:
    return [Turn("user", HEADLINE), Turn("assistant", answerer.ask(HEADLINE).answer)]


def test_each_named_unit_answers_from_its_own_measures_in_document_order(answerer: Answerer) -> None:
    ans = answerer.ask("它们分别提出了什么改进措施？", _follow_up(answerer))
    assert ans.kind == "aggregate" and ans.resolved_question == f"{HESHAN}、{DAXIANG}分别提出了什么改进措施？"
    assert [u.unit for u in ans.units or []] == [HESHAN, DAXIANG]
    lines = ans.answer.split("\n")
    assert [line.split("：", 1)[0] for line in lines] == [HESHAN, DAXIANG]
    assert "1、细化预算管理，提升预算编制质量，提高资金使用效益。[4]" in lines[1]  # 大祥's first measure
    for unit in ans.units or []:
        cited = [ans.citations[i - 1] for i in unit.citation_ids]
        assert len(cited) == 3 and all(c.hit.doc.unit == unit.unit and c.hit.section_role == "measures" for c in cited)
        assert [c.char_start for c in cited] == sorted(c.char_start for c in cited)


def test_a_named_unit_without_evidence_gets_its_own_line(answerer: Answerer) -> None:
    catalogue = list(answerer.retriever.catalogue().values())
    u = understand("它们分别提出了什么改进措施？", _follow_up(answerer), catalogue)
    ans = answer_per_unit(answerer.ctx, replace(u, units=(*u.units, "某某不存在的单位")), None)
    assert [x.unit for x in ans.units or []] == [HESHAN, DAXIANG]
    assert ans.answer.split("\n")[-1] == "某某不存在的单位：未在其报告中找到相关内容。"


def test_a_number_asked_of_each_unit_is_a_lookup_per_unit(answerer: Answerer) -> None:
    """Session 24: "它们2021年的基本支出分别是多少？" listed each unit's three best-scoring lines, for 大祥 (whose report
    states no 基本支出) its title and a heading; now each unit gets its lookup answer or a line saying it has none."""
    ans = answerer.ask("它们2021年的基本支出分别是多少？", _follow_up(answerer))
    assert [u.unit for u in ans.units or []] == [HESHAN]
    assert "388.07万元" in ans.answer.split("\n")[0]
    assert ans.answer.split("\n")[-1] == f"{DAXIANG}：未在其报告中找到相关内容。"
    # A list asked of each unit is still its best sentences on the topic.
    measures = answerer.ask("它们分别提出了什么改进措施？", _follow_up(answerer))
    assert [u.unit for u in measures.units or []] == [HESHAN, DAXIANG]


def test_units_named_in_the_question_are_asked_one_by_one(answerer: Answerer) -> None:
    """Named by the user ("…和…的基本支出分别是多少？") rather than by a pronoun: the same lookup per unit."""
    ans = answerer.ask("赫山区投资促进服务中心和大祥工业集中区的基本支出分别是多少？")
    assert [u.unit for u in ans.units or []] == [HESHAN] and "388.07万元" in ans.answer, ans.answer
    assert ans.answer.split("\n")[-1] == f"{DAXIANG}：未在其报告中找到相关内容。"
