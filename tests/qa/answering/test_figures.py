"""Questions comparing or adding up amounts (qa.answering.figures): what they are read as, and their answers on the
bundled samples and on the two real 部门决算 PDFs (tests/fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.answer import Answerer
from qa.answering import figures
from qa.answering.figures import FigureQuestion, read_figures
from qa.answering.lookup import asked_number
from qa.embeddings import Embedder
from qa.evidence import KeyTerms
from qa.retrieve import open_retriever
from qa.understand import Turn
from tests.conftest import FIXTURES, ingest_into, make_settings

HESHAN = "赫山区投资促进服务中心"
FURONG = "芙蓉区商务局"


@pytest.mark.parametrize(
    ("question", "names", "expected"),
    [
        ("哪个单位的基本支出最多？", set(), FigureQuestion("rank", ("基本支出",))),
        ("2021年项目支出最少的是哪个单位？", set(), FigureQuestion("rank", ("项目支出",), descending=False)),
        ("哪个单位的社会保障和就业支出最多？", set(), FigureQuestion("rank", ("社会保障和就业支出",))),
        (
            "2021年基本支出超过300万元的单位有哪些？",
            set(),
            FigureQuestion("threshold", ("基本支出",), threshold=(">", 300.0)),
        ),
        (
            "项目支出低于5亿元的部门有哪些？",
            set(),
            FigureQuestion("threshold", ("项目支出",), threshold=("<", 50000.0)),
        ),
        ("A局和B局哪个的项目支出多？", {"A局", "B局"}, FigureQuestion("pair", ("项目支出",))),
        ("A局的基本支出比B局少多少？", {"A局", "B局"}, FigureQuestion("pair", ("基本支出",), descending=False)),
        ("A局和B局的财政拨款收入相差多少？", {"A局", "B局"}, FigureQuestion("pair", ("财政拨款收入",))),
        ("A局2021年人员经费和公用经费一共多少？", {"A局"}, FigureQuestion("sum", ("人员经费", "公用经费"))),
        ("A局的人员经费比公用经费多多少？", {"A局"}, FigureQuestion("difference", ("人员经费", "公用经费"))),
        ("哪个单位的预算执行率最高？", set(), FigureQuestion("rank", ("预算执行率",), measure="share")),
        (
            "绩效自评得分低于90分的单位有哪些？",
            set(),
            FigureQuestion("threshold", ("绩效自评得分",), threshold=("<", 90.0), measure="score"),
        ),
        (
            "A局的预算执行率比资金到位率低多少？",
            {"A局"},
            FigureQuestion("difference", ("预算执行率", "资金到位率"), measure="share"),
        ),
        ("基本支出哪个单位最多？", set(), FigureQuestion("rank", ("基本支出",))),
        ("各单位项目支出由少到多排列", set(), FigureQuestion("rank", ("项目支出",), descending=False)),
        (
            "基本支出在300万元以上的单位有哪些？",
            set(),
            FigureQuestion("threshold", ("基本支出",), threshold=(">=", 300.0)),
        ),
        ("A局的基本支出多还是B局的多？", {"A局", "B局"}, FigureQuestion("pair", ("基本支出",))),
        ("哪个单位新引进项目最多？", set(), FigureQuestion("rank", ("新引进项目",), measure="count")),
        # Not comparisons of stated values: mixed measures, a year-on-year change, a count, a which-units topic, a
        # plain lookup.
        ("A局的基本支出比预算执行率多多少？", {"A局"}, None),
        ("绩效自评得分超过90万元的单位有哪些？", set(), None),
        ("A局2021年基本支出比2020年多多少？", {"A局"}, None),
        ("哪个单位发现的问题最多？", set(), None),
        ("哪些单位提到预算编制不够细化？", set(), None),
        ("A局2021年基本支出是多少？", {"A局"}, None),
    ],
)
def test_what_a_figures_question_asks(question: str, names: set[str], expected: FigureQuestion | None) -> None:
    assert read_figures(question, names) == expected


def test_which_units_state_an_amount() -> None:
    """ "哪些单位给出了X的具体金额？" asks for the units whose reports state an amount of X (of any item joined by 或);
    the measure is the one asked for. Only asked as a which-units question, and not for an item a report does not
    write as one phrase ("项目支出的预算")."""
    asked = "哪些单位给出了税收或税金的具体金额？"
    assert read_figures(asked, set(), which_units=True) == FigureQuestion("stated", ("税收", "税金"))
    assert read_figures(asked, set()) is None
    assert read_figures("哪些单位写明了项目支出的预算金额？", set(), which_units=True) is None


def test_a_place_scoping_a_ranking_is_no_part_of_its_item() -> None:
    asked = "赫山区“三公”经费最高的是哪个单位？"
    assert read_figures(asked, set(), ["赫山区"]) == FigureQuestion("rank", ("三公经费",))
    assert read_figures(asked, set()) == FigureQuestion("rank", ("赫山区三公经费",))


def test_a_sum_of_two_items_of_one_unit_cites_both_and_adds_them(answerer: Answerer) -> None:
    a = answerer.ask(f"{HESHAN}2021年人员经费和公用经费一共多少？")
    assert a.kind == "lookup"
    assert "人员经费133.58万元 + 公用经费254.49万元 = 388.07万元" in a.answer
    assert [c.id for c in a.citations] == [1, 2]
    assert "133.58万元" in a.citations[0].text and "254.49万元" in a.citations[1].text
    d = answerer.ask(f"{HESHAN}2021年的人员经费比公用经费少多少？")
    assert "人员经费比公用经费少120.91万元" in d.answer


def test_a_ranking_lists_the_reports_stating_the_amount_and_names_the_others(answerer: Answerer) -> None:
    a = answerer.ask("哪个单位的基本支出最多？")
    # Units are named as in every aggregate answer (the year is in the text, the report is the source).
    assert a.kind == "aggregate" and [u.unit for u in a.units or []] == [f"益阳市{HESHAN}"]
    assert a.answer.startswith(f"只有益阳市{HESHAN}（2021年）的报告列出了基本支出金额：388.07万元")
    # The reports whose lookup states no 基本支出 are named, not left out silently.
    assert "未在报告中找到基本支出金额的：" in a.answer and FURONG in a.answer.splitlines()[-1]
    # A budget figure is marked as one: 芙蓉区商务局 states only its 项目支出 年初预算.
    least = answerer.ask("项目支出最少的是哪个单位？")
    assert least.answer.startswith(f"项目支出最少的是益阳市{HESHAN}（2021年）：0万元")
    assert f"{FURONG}（2021年）（450.00万元（预算数））" in least.answer


def test_a_threshold_lists_only_the_reports_over_it(answerer: Answerer) -> None:
    over = answerer.ask("2021年基本支出超过300万元的单位有哪些？")
    assert [u.unit for u in over.units or []] == [f"益阳市{HESHAN}"]
    assert over.answer.startswith("基本支出超过300万元的有 1 个")
    under = answerer.ask("2021年基本支出低于300万元的单位有哪些？")
    assert under.units == [] and under.answer.startswith("列出基本支出金额的 1 份报告中，没有基本支出低于300万元的")


def test_a_pair_comparison_says_which_is_more_and_by_how_much(answerer: Answerer) -> None:
    a = answerer.ask(f"{HESHAN}和{FURONG}哪个的项目支出多？")
    assert a.answer.startswith(f"{FURONG}的项目支出较多，比益阳市{HESHAN}多450万元（其中有预算数，请留意口径）")
    assert len(a.citations) == 2


def test_units_whose_reports_state_an_amount(answerer: Answerer) -> None:
    a = answerer.ask("哪些单位给出了税收或税金的具体金额？")
    assert {u.unit for u in a.units or []} == {"湖南省大祥工业集中区管理委员会", FURONG}
    assert "（4.92亿元）：实缴税金4.92亿元" in a.answer and "（1.16亿元）" in a.answer
    none = answerer.ask("哪些单位写明了“三公”经费的具体金额？")
    assert none.units == [] and none.answer == "未在已收录报告中找到给出三公经费的具体金额的单位。"


def test_counts_are_compared_as_counts_of_the_named_thing(answerer: Answerer) -> None:
    """Session 26: a count is a measure too ("哪些单位给出了新引进或签约项目的个数？", "哪个单位新引进项目最多？"), each
    report's count its lookup's count of that thing: 芙蓉区商务局's 内设科室4个 is no count of 签约项目."""
    asked = "2021年度的报告中，哪些单位给出了当年新引进或签约项目的个数？"
    assert read_figures(asked, set(), which_units=True) == FigureQuestion(
        "stated", ("新引进项目", "签约项目"), measure="count"
    )
    a = answerer.ask(asked)
    assert {u.unit for u in a.units or []} == {f"益阳市{HESHAN}", FURONG}, a.answer
    assert "（9个）" in a.answer and "（61个）：全区新引进项目61个" in a.answer
    pair = answerer.ask(f"{HESHAN}和{FURONG}哪个的签约项目多？")
    assert pair.answer.startswith(f"只有益阳市{HESHAN}的报告列出了签约项目个数：9个，无法比较。"), pair.answer
    assert figures._number("三") == 3 and figures.stated("已引进项目十二个", "引进项目", figures._BY_NAME["count"]) == (
        12.0,
        "十二个",
        False,
    )


def test_units_that_report_a_count_of_a_thing(answerer: Answerer) -> None:
    """Session 27 (blind which-units probes, agq-011): "哪些单位报告了在谈项目的数量？" was read as a topic 在谈项目的数量
    (报告了 was not a verb of stating a figure) and listed 赫山区 by "…数量、质量指标…"; the item kept its 在 (在谈)."""
    asked = "哪些单位报告了在谈项目的数量？"
    assert read_figures(asked, set(), which_units=True) == FigureQuestion("stated", ("在谈项目",), measure="count")
    a = answerer.ask(asked)
    assert {u.unit for u in a.units or []} == {f"益阳市{HESHAN}", FURONG}, a.answer
    assert "（42个）" in a.answer and "（121个）" in a.answer


def test_these_two_added_up_after_two_lookups(answerer: Answerer) -> None:
    history = [
        Turn("user", f"{HESHAN}2021年基本支出是多少？"),
        Turn("assistant", "2021年基本支出为388.07万元[1]"),
        Turn("user", "项目支出呢？"),
        Turn("assistant", "2021年项目支出0万元。[1]"),
    ]
    a = answerer.ask("这两项加起来是多少？", history)
    assert a.resolved_question == f"{HESHAN}2021年基本支出和项目支出一共是多少？"
    assert "= 388.07万元" in a.answer
    d = answerer.ask("两者相差多少？", history)
    assert d.resolved_question == f"{HESHAN}2021年基本支出和项目支出相差多少？" and "多388.07万元" in d.answer


def test_an_amount_a_report_does_not_state_is_declined(answerer: Answerer) -> None:
    a = answerer.ask(f"{HESHAN}2021年会议费和培训费一共多少？")
    assert a.kind == "unanswerable" and "会议费、培训费" in a.answer and "无法计算" in a.answer


def test_too_many_reports_to_compare_one_by_one_asks_to_narrow(
    answerer: Answerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(figures, "MAX_REPORTS", 3)
    a = answerer.ask("哪个单位的基本支出最多？")
    assert a.kind == "unanswerable" and a.answer.startswith("符合条件的报告有 5 份，逐份比较最多 3 份")
    # One report in scope (2022): compared, and found to state no 基本支出.
    assert answerer.ask("2022年哪个单位的基本支出最多？").answer == "未在已收录报告中找到这些单位基本支出的具体金额。"


def test_how_many_reports_the_library_holds(answerer: Answerer) -> None:
    a = answerer.ask("一共收录了多少份报告？")
    assert (
        a.answer == "已收录的报告共 5 份，来自 5 个单位：2021年 4 份、2022年 1 份；部门整体支出 2 份、项目支出 3 份。"
    )
    assert answerer.ask("2021年收录了几份报告？").answer.startswith("2021年的报告共 4 份")
    assert answerer.ask(f"{HESHAN}有几份报告？").answer.startswith(f"益阳市{HESHAN}的报告共 1 份")
    # Reports stating something are counted by what they state, as a which-units question.
    assert answerer.ask("提到招商引资的报告有多少份？").kind == "aggregate"


# --- the two real 部门决算 PDFs --------------------------------------------------------------------------------

PLANNING = "上海市普陀区规划和自然资源局"
SOCIAL = "中共上海市普陀区委社会工作部"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Answerer]:
    retriever = open_retriever(make_settings(Path(tmp_path_factory.mktemp("pdf-store"))), embedder)
    report = ingest_into(retriever, sorted(FIXTURES.glob("*.pdf")))
    assert len(report.new) == 2 and not report.failed
    yield Answerer(retriever)


def test_a_units_amount_is_its_total_not_a_class_rows_part(pdfs: Answerer) -> None:
    """The 支出决算表 has a row per functional class ("22001 自然资源事务 · … 基本支出 2339.58 万元"): the unit's 基本支出
    is its total (5377.64), unless the question names the class."""
    a = pdfs.ask("规划和自然资源局2024年基本支出是多少？")
    assert "5377.64" in a.answer and "2339.58" not in a.answer
    assert "2339.58" in pdfs.ask("规划和自然资源局自然资源事务的基本支出是多少？").answer
    ask = asked_number("规划和自然资源局基本支出是多少？", KeyTerms(set(), lambda t: 1.0))
    assert ask is not None and ask.part_row(
        "支出决算表 · 22001 自然资源事务 · 本年支出合计 4461.67 万元 · 基本支出 2339.58 万元"
    )
    assert not ask.part_row("支出决算表 · 合计 · 本年支出合计 9759.38 万元 · 基本支出 5377.64 万元")


def test_two_units_compared_on_their_pdfs(pdfs: Answerer) -> None:
    a = pdfs.ask("规划和自然资源局和社会工作部哪个的基本支出多？")
    assert a.answer.startswith(f"{PLANNING}的基本支出较多，比{SOCIAL}多5272.06万元")
    assert {u.unit for u in a.units or []} == {PLANNING, SOCIAL}
    ranked = pdfs.ask("哪个单位的社会保障和就业支出最多？")
    assert ranked.answer.startswith(f"社会保障和就业支出最多的是{PLANNING}：754.75万元")
    total = pdfs.ask("规划和自然资源局的基本支出和项目支出一共多少？")
    assert "= 9759.38万元" in total.answer
