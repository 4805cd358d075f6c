"""Questions about what the library does not hold are declined with what it does hold (issue 18, item 3), number
questions are answered only by a number of the asked kind about the asked item, and counts worded as a tail
("…的单位一共有几个？") are aggregates."""

from __future__ import annotations

import pytest

from qa.answer import Answerer
from qa.answering.lookup import named_items
from qa.retrieve import Retriever
from qa.understand import aggregate_topic, understand

HESHAN = "益阳市赫山区投资促进服务中心"


@pytest.fixture(scope="module")
def answerer(sample_retriever: Retriever) -> Answerer:
    return Answerer(sample_retriever)


@pytest.mark.parametrize(
    ("question", "says"),
    [
        (
            "益阳市资阳区投资促进服务中心2021年基本支出是多少？",
            ["未在已收录报告中找到益阳市资阳区投资促进服务中心的报告", HESHAN],
        ),
        ("益阳市赫山区投资促进服务中心2023年基本支出是多少？", ["2023年的报告", "2021年"]),
        ("芙蓉区商务局2022年项目支出是多少？", ["2022年的报告", "2021年"]),
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


@pytest.mark.parametrize(
    "question",
    [
        "益阳市赫山区投资促进服务中心2021年公务接待费是多少？",  # no such figure: the title's year is not an answer
        "芙蓉区商务局2021年会议费是多少？",
        "湖南省大祥工业集中区管理委员会2021年群众满意度是多少？",
        "赫山区投资促进服务中心2021年“三公”经费具体支出了多少万元？",  # stated only as 低于年初预算
        "益阳市赫山区投资促进服务中心2021年绩效评价等级是什么？",  # not a number: the title line is no answer either
        "芙蓉区商务局的办公地址在哪里？",
        "湖南省大祥工业集中区管理委员会2021年的一般公共预算财政拨款收入是多少？",
    ],
)
def test_questions_naming_what_no_report_states_are_declined(answerer: Answerer, question: str) -> None:
    ans = answerer.ask(question)
    assert ans.kind == "unanswerable", ans.answer


def test_number_questions_with_the_number_are_answered(answerer: Answerer) -> None:
    ans = answerer.ask("益阳市赫山区投资促进服务中心2021年基本支出是多少？")
    assert ans.kind == "lookup" and "388.07万元" in ans.answer, ans.answer
    assert [p.pattern for p in named_items("芙蓉区商务局2021年培训费是多少万元？")] == ["培训费"]
    assert named_items("赫山那个招商服务中心2021年维持机构日常运转一共花了多少钱？") == []


def test_counts_worded_as_a_tail_are_aggregates(sample_retriever: Retriever) -> None:
    catalogue = list(sample_retriever.catalogue().values())
    u = understand("提到预算编制不够细化的单位一共有几个？", (), catalogue, None)
    assert u.intent == "aggregate" and aggregate_topic(u.standalone) == "预算编制不够细化"
    assert understand("赫山区投资促进服务中心的单位有几个科室？", (), catalogue, None).intent == "lookup"
    # A modal before the topic is no part of it; a word that starts like one is.
    assert aggregate_topic("哪些单位提出要加强资金监管？") == "加强资金监管"
    assert aggregate_topic("哪些单位提到要素保障不足？") == "要素保障不足"
