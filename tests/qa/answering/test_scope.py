"""Questions about what the library does not hold (qa.answering.scope) are declined with what it does hold (issue 18,
item 3), and never answered from another unit's report or year."""

from __future__ import annotations

import pytest

from qa.answer import Answerer

HESHAN = "益阳市赫山区投资促进服务中心"


@pytest.mark.parametrize(
    ("question", "says"),
    [
        (
            "益阳市资阳区投资促进服务中心2021年基本支出是多少？",
            ["未在已收录报告中找到益阳市资阳区投资促进服务中心的报告", HESHAN],
        ),
        ("益阳市赫山区投资促进服务中心2023年基本支出是多少？", ["2023年的报告", "2021年"]),
        ("芙蓉区商务局2022年项目支出是多少？", ["2022年的报告", "2021年"]),
        # 赫山区 is in the library, but its one report names its unit, and that is another one.
        (
            "益阳市赫山区商务局2021年部门整体支出的基本支出是多少万元？",
            ["未在已收录报告中找到益阳市赫山区商务局的报告", HESHAN],
        ),
    ],
)
def test_out_of_scope_lookups_are_declined_with_what_exists(answerer: Answerer, question: str, says: list[str]) -> None:
    ans = answerer.ask(question)
    assert ans.kind == "unanswerable", ans.answer
    assert all(s in ans.answer for s in says), ans.answer
    assert "388.07" not in ans.answer  # never the other unit's or year's figure


def test_a_loosely_named_unit_is_still_answered(answerer: Answerer) -> None:
    ans = answerer.ask("赫山那个招商服务中心2021年基本支出是多少？")
    assert ans.kind == "lookup" and "388.07万元" in ans.answer, ans.answer


def test_a_place_whose_report_names_no_unit_leaves_the_unit_open(answerer: Answerer) -> None:
    """The 开福区 report names no unit (only 我中心): a centre of 开福区 may be that one, so it is not declined."""
    ans = answerer.ask("开福区负责楼宇经济工作的中心2021年重点项目支出预算是多少？")
    assert "未在已收录报告中找到开福区" not in ans.answer, ans.answer


def test_a_district_a_unit_is_named_after_is_in_the_library(answerer: Answerer) -> None:
    """Session 28 (blind probes dv-001, dw-025): "…向大祥区反馈巡视意见的？" was declined as a question about a place the
    library lacks (read as 向大祥区); 大祥区 is where 大祥工业集中区 is, and its report states the day. A district no
    unit is named after is still declined (资阳区, above), also after the city the library has ("益阳市资阳区…" read
    益阳市 and was answered from 赫山区's report)."""
    ans = answerer.ask("省委第六巡视组是哪一天向大祥区反馈巡视意见的？")
    assert ans.kind == "lookup" and "3月31日" in ans.answer, ans.answer
    # A district of a region the library has, named right after it, is asked about too; a place a report merely
    # mentions is not ("拿到了长沙市的…荣誉" read 了长沙市 as a place).
    assert answerer.ask("益阳市资阳区2021年招商引资到位资金是多少？").kind == "unanswerable"
    honour = answerer.ask("开福区“楼长制”拿到了长沙市的什么荣誉？")
    assert honour.kind == "lookup" and "十佳重点攻坚改革成果" in honour.answer, honour.answer


@pytest.mark.parametrize("kinds", ["社区或街道", "派出所或社区", "社区"])
def test_the_kinds_of_unit_asked_for_are_no_place(answerer: Answerer, kinds: str) -> None:
    """ "哪些社区或街道…" asks which units, whatever their kind: 社区 is no region the library lacks (it was read as the
    places 哪些社区 / 所或社区 and declined)."""
    plain = answerer.ask("哪些单位提到预算编制不够细化？")
    ans = answerer.ask(f"哪些{kinds}提到预算编制不够细化？")
    assert plain.units and ans.kind == "aggregate", ans.answer
    assert [u.unit for u in ans.units] == [u.unit for u in plain.units], ans.answer


def test_a_place_is_checked_whole_and_question_words_name_no_unit(answerer: Answerer) -> None:
    """Session 29 (blind scale questions): "荆州市的…" passed the check because 州市 is part of a place the library
    has (广州市; here 岳阳市 and 益阳市); "提及政府采购不规范的…" was declined as a question about 提及政府, "有几个局…"
    about 有几个局, "…未用于改进管理的医院有几家" about a hospital of that name, "各地市" as a place."""
    ans = answerer.ask("岳阳市有哪些单位提到预算编制不够细化？")
    assert ans.kind == "unanswerable" and "岳阳市" in ans.answer, ans.answer
    for question in (
        "提及政府采购不规范的单位数量是多少？",
        "有几个局提到预算编制不够细化？",
        "绩效评价结果未用于改进管理的医院有几家？",
        "各地市中，哪些单位提到预算编制不够细化？",
    ):
        assert answerer.ask(question).kind == "aggregate", question
