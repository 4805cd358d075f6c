"""Aggregate topics: what the evidence must say, without the question's own words."""

from __future__ import annotations

import pytest

from qa.retrieve import Retriever
from qa.understand import Turn, aggregate_topic, page_header, understand


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("哪些单位提到预算编制不够细化？", "预算编制不够细化"),
        ("请列出所有提到专账核算的单位", "专账核算"),
        ("提到预算编制不够细化的单位有哪些？", "预算编制不够细化"),
        # Scope before "which units" is read as filters, not topic (dev-010 listed every report before).
        ("在项目支出（含重点项目支出）绩效报告中，哪些单位提到招商引资？", "招商引资"),
        ("2021年有多少个单位提到三公经费？", "三公经费"),
        ("哪些单位提到政府采购方面的问题？", "政府采购"),
        # The topic first, "which units" last.
        ("预算编制不够细化，哪些单位提到了？", "预算编制不够细化"),
        ("预算编制不够细化的有哪些单位？", "预算编制不够细化"),
        # A request to list them at the end, units of two kinds run together, a comma before "which units": no part
        # of the topic (their words made the corpus-wide pass look for 列出来, 乡镇单位 …).
        ("政府采购不规范的单位，请列出来。", "政府采购不规范"),
        ("专项资金没单独核算的，列出来", "专项资金没单独核算"),
        ("列出专业人才缺乏、技术力量薄弱的乡镇单位。", "专业人才缺乏、技术力量薄弱"),
        ("账上分不清各项目分别花了多少钱的，是哪些部门？", "账上分不清各项目分别花了多少钱"),
    ],
)
def test_aggregate_topic(question: str, topic: str) -> None:
    assert aggregate_topic(question) == topic


def test_party_department_alias_and_comparison_years() -> None:
    """Issue #20: "社会工作部" names 中共上海市普陀区委社会工作部; in "比2023年度减少多少" 2023 is what the report
    compares with, not the report asked for."""
    from ingest.schema import DocFields, DocRecord
    from qa.understand import understand, unit_aliases

    doc = DocRecord(
        DocFields("d", "a.pdf", "t", "中共上海市普陀区委社会工作部", "上海市普陀区", 2024, "部门决算"), "pdf", 3, 0.0
    )
    assert "社会工作部" in unit_aliases(doc.doc.unit, doc.doc.region)
    u = understand("社会工作部“三公”经费比2023年度减少多少？", [], [doc])
    assert (u.filters.unit, u.filters.year) == ("中共上海市普陀区委社会工作部", None)
    assert understand("社会工作部2024年度支出与2023年相比增加多少？", [], [doc]).filters.year == 2024


def test_an_industrial_park_goes_by_its_name_and_yuanqu(sample_retriever: Retriever) -> None:
    """Session 26: "大祥园区…" was no name of 湖南省大祥工业集中区管理委员会, so "大祥园区的整体支出评价报告自己承认了哪些短板？"
    was answered from 赫山区's report."""
    from qa.understand import unit_aliases

    assert "大祥园区" in unit_aliases("湖南省大祥工业集中区管理委员会", "湖南省")
    catalogue = list(sample_retriever.catalogue().values())
    u = understand("大祥园区的整体支出评价报告自己承认了哪些短板？", (), catalogue, None)
    assert u.filters.unit == "湖南省大祥工业集中区管理委员会"


def test_counts_worded_as_a_tail_are_aggregates(sample_retriever: Retriever) -> None:
    catalogue = list(sample_retriever.catalogue().values())
    u = understand("提到预算编制不够细化的单位一共有几个？", (), catalogue, None)
    assert u.intent == "aggregate" and aggregate_topic(u.standalone) == "预算编制不够细化"
    assert understand("赫山区投资促进服务中心的单位有几个科室？", (), catalogue, None).intent == "lookup"
    # A modal before the topic is no part of it; a word that starts like one is.
    assert aggregate_topic("哪些单位提出要加强资金监管？") == "加强资金监管"
    assert aggregate_topic("哪些单位提到要素保障不足？") == "要素保障不足"


@pytest.mark.parametrize(
    "question",
    [
        "有谁提到预算编制不够细化？",
        "谁说过预算编制不够细化？",
        "预算编制不够细化的单位都有谁？",
        "都有哪些单位提到预算编制不够细化？",
        "哪些机构的预算编制不够细化？",
        "哪几个部门说预算编制不够细化？",
        "哪些县区的单位提到预算编制不够细化？",
        "哪些报告提到预算编制不够细化？",
        "提到预算编制不够细化的都是哪些单位？",
        "给我列一下预算编制不够细化的单位",
        "说预算编制不够细化的单位多吗？",
        "预算编制不够细化的情况在哪些单位出现过？",
        "请帮我统计一下预算编制不够细化的单位",
        "哪些单位在报告里承认预算编制不够细化？",
        "给出预算编制不够细化的单位名单",
        "哪些单位遇到了预算编制不够细化的问题？",
        "在哪些单位的报告里能看到预算编制不够细化？",
        "预算编制不够细化的单位是哪几个？",
        "我想知道哪些单位预算编制不够细化",
        "哪些单位谈到预算编制不够细化？",
        # Session 24: frames of what a report states (写明了 / 说明了 / 披露了 / 写到).
        "哪些单位写明了预算编制不够细化？",
        "哪些单位在报告中说明了预算编制不够细化？",
        "哪些单位披露了预算编制不够细化？",
        "哪些单位写到了预算编制不够细化？",
        # Session 17 (eval_sets/scale/independent_*.yaml): 谁家, 有没有 + any kind of unit, kinds joined, 的是谁.
        "谁家提到了预算编制不够细化？",
        "谁家的预算编制不够细化？",
        "有没有医院提到预算编制不够细化？",
        "有没有学校或医院预算编制不够细化？",
        "是否有部门提到预算编制不够细化？",
        "预算编制不够细化的医院和学校有哪些？",
        "列出预算编制不够细化的医院和学校。",
        "预算编制不够细化的是谁？",
        "预算编制不够细化的部门给我列个名单",
        "预算编制不够细化的单位列一下",
        "预算编制不够细化的单位有没有",
        "有没有疾控、医院这类单位预算编制不够细化的？",
        "有没有预算编制不够细化的",
        "哪些派出所或司法所预算编制不够细化？",
        "哪些站所预算编制不够细化？",
        "哪些局的预算编制不够细化？",
        # Session 18: projects and works opening the question (independent sets A, B, F, G, H).
        "哪些项目预算编制不够细化？",
        "哪些工程的预算编制不够细化？",
        # Session 22: any kind of unit named by its suffix (were lookups), two kinds run together, lists asked for at
        # the end.
        "哪些卫生院预算编制不够细化？",
        "哪些林场的预算编制不够细化？",
        "哪些文化馆提到预算编制不够细化？",
        "哪些服务大厅预算编制不够细化？",
        "哪些乡镇卫生院预算编制不够细化？",
        "哪些社区或街道预算编制不够细化？",
        "哪些街道办或派出所预算编制不够细化？",
        "预算编制不够细化的单位，请列出来。",
        "预算编制不够细化的乡镇单位有哪些？",
        # Session 22, more frames of mine (tuning material): each was a lookup or kept words of the question.
        "哪一些单位提到预算编制不够细化？",
        "被指出预算编制不够细化的单位",
        "列举出预算编制不够细化的单位",
        "请给出存在预算编制不够细化问题的单位",
        "预算编制不够细化这个问题，哪些单位有？",
        "预算编制不够细化涉及哪些单位？",
        "统计预算编制不够细化的单位数量",
        "预算编制不够细化的单位数量是多少",
        "哪些单位自评发现预算编制不够细化？",
        "哪些单位的自评报告中提到了预算编制不够细化？",
        "预算编制不够细化的单位请列举",
        "哪些县的单位提到预算编制不够细化？",
        "预算编制不够细化问题出现在哪些单位？",
        "预算编制不够细化的问题在哪些单位存在？",
        "能列出预算编制不够细化的单位吗？",
        "有单位提到预算编制不够细化吗？",
        "各单位中哪些提到了预算编制不够细化？",
        "哪些单位的问题是预算编制不够细化？",
        # Session 29, blind set M / O: counts, requests after the units, the topic referred back to; a year keeps its
        # filter, not 度.
        "预算编制不够细化的单位共计多少个？",
        "存在预算编制不够细化问题的单位总数是多少？",
        "一共有几个部门说预算编制不够细化？",
        "有几个局提到预算编制不够细化？",
        "报告里写了预算编制不够细化的一共几个单位？",
        "共有多少单位自查发现预算编制不够细化？",
        "预算编制不够细化的乡镇有多少个？",
        "预算编制不够细化的单位统共几家？",
        "汇总一下预算编制不够细化的单位家数。",
        "学校当中，报告里提到预算编制不够细化的有多少所？",
        "预算编制不够细化的，都有哪些？",
        "请罗列预算编制不够细化的预算单位。",
        "请列示2022年度绩效报告中提及预算编制不够细化的预算单位。",
        "预算编制不够细化的单位，给我列一下。",
        "预算编制不够细化的部门名单发我一下。",
        "预算编制不够细化的单位，能找出来吗？",
        "麻烦梳理一下预算编制不够细化的单位。",
        "预算编制不够细化的街道，报告里点到了哪几个？",
        "预算编制不够细化——哪些单位有这种情况？",
        "预算编制不够细化的问题，有几家单位在自查中主动写出来了？",
        "自评中被指出预算编制不够细化的单位有哪些？",
        # Session 29, blind set P: chat endings, requests to look it up, auditors' written requests.
        "预算编制不够细化的单位都是谁啊",
        "预算编制不够细化的单位有几个，麻烦报个数",
        "预算编制不够细化的单位有多少，给个数就行",
        "预算编制不够细化的单位，麻烦您帮忙整理下",
        "预算编制不够细化的单位，能给个名单吗？",
        "预算编制不够细化的单位清单有吗？",
        "预算编制不够细化的单位给我拉个名单",
        "预算编制不够细化的部门，数一数有多少？",
        "预算编制不够细化的，加起来多少家？",
        "预算编制不够细化的单位有哪些呢？",
        "能数一下预算编制不够细化的单位有几个吗",
        "针对预算编制不够细化的问题，请说明所涉单位。",
        "经查，部分单位预算编制不够细化。请列明具体单位。",
        "预算编制不够细化，请列出涉及的单位。",
        "请说明预算编制不够细化的单位户数。",
        "预算编制不够细化的单位，总数是多少？",
        "预算编制不够细化，涉及单位数是多少？",
        # Session 29, blind set R: briefing requests, a question asked again after a yes/no one, preambles.
        "预算编制不够细化的单位，请给出名称。",
        "预算编制不够细化的部门，帮我点个名。",
        "预算编制不够细化的单位，能告诉我数量吗？",
        "预算编制不够细化的单位，总数多少？",
        "预算编制不够细化的单位是多少家。",
        "预算编制不够细化的学校，都是哪几所？",
        "整理一份预算编制不够细化的部门情况，列明单位名称。",
        "列一份预算编制不够细化的单位清单给我。",
        "按单位计，预算编制不够细化的有多少？",
        "是不是有单位预算编制不够细化？是哪些？",
        "是不是有单位预算编制不够细化？都有谁？",
        "预算编制不够细化，有单位这么说吗？是哪些？",
        "我听说有些乡镇预算编制不够细化，具体是哪些乡镇这么写的？",
        "人大代表想问：预算编制不够细化的单位都有谁？",
        "刚入职，术语不熟：预算编制不够细化的单位有哪些？",
    ],
)
def test_which_units_in_everyday_frames(question: str) -> None:
    """Session 11: these frames were read as lookups (one unit's answer, or none) or kept question words in the
    topic, so an everyday wording of a which-units question got another list than the canonical one. Session 29:
    the same for frames of blind-written scale questions (eval_sets/scale/independent_m … r)."""
    u = understand(question, [], [])
    assert (u.intent, u.topic) == ("aggregate", "预算编制不够细化")


@pytest.mark.parametrize(
    "question",
    ["一共收录了多少份报告？", "赫山区投资促进服务中心有几个预算单位？", "赫山区投资促进服务中心内设几个机构？"],
)
def test_counts_of_reports_and_of_a_units_parts_stay_lookups(question: str) -> None:
    assert understand(question, [], []).intent == "lookup"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("哪些单位提到还本付息？", "还本付息"),
        ("哪些单位提到中央资金？", "中央资金"),
        ("哪些单位提到了有机肥补贴？", "有机肥补贴"),
        ("哪些单位请客吃饭的钱超了年初安排？", "请客吃饭的钱超了年初安排"),
        ("哪些单位还存在预算编制不够细化的问题？", "预算编制不够细化"),  # 还 and 存在 as words of their own
        ("哪些单位还有大额贷款没有还清？", "大额贷款没有还清"),
        ("帮我列一下预算编得比较粗的部门。", "预算编得比较粗"),  # requests go wherever jieba cuts (帮/我列/一下)
    ],
)
def test_a_topic_keeps_a_first_character_that_begins_its_word(question: str, topic: str) -> None:
    """Session 22: 还, 中, 有, 请 were stripped as question words wherever they began the topic (本付息, 央资金 …)."""
    assert understand(question, [], []).topic == topic


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("哪些单位自评走过场？", "自评走过场"),  # 自评 is what the topic is about
        ("资产管理有问题的单位有哪些？", "资产管理有问题"),  # 有问题 says it of its subject
        ("哪些单位提到市场主体培育？", "市场主体培育"),  # nor 提到市场 (场 ends 林场)
    ],
)
def test_words_of_the_topic_stay(question: str, topic: str) -> None:
    assert understand(question, [], []).topic == topic


@pytest.mark.parametrize("question", ["哪些区域协调发展不平衡？", "哪些市场主体反映融资难？", "哪些网站没有及时更新？"])
def test_words_that_end_like_a_kind_of_unit_are_none(question: str) -> None:
    """区 of 区域, 场 of 市场 and 站 of 网站 name no kind of unit: these stay lookups."""
    assert understand(question, [], []).intent == "lookup"


def test_a_kind_of_unit_stays_short() -> None:
    """A kind joined without a conjunction needs three characters or more: 网站 of "哪些单位网站系统…" is the topic's."""
    assert understand("哪些单位网站系统没做等保测评？", [], []).topic == "网站系统没做等保测评"
    assert understand("哪些局的决算数和年初预算差得特别大？", [], []).topic == "决算数和年初预算差得特别大"


@pytest.mark.parametrize(
    "question",
    [
        "赫山区投资促进服务中心的项目由谁负责？",  # 谁 of one unit's fact
        "大祥工业集中区管委会是哪个部门主管的？",  # a singular 哪个 about one unit
        "赫山区投资促进服务中心2021年基本支出是多少？",
        "赫山区投资促进服务中心的负责人是谁？",
        "赫山区投资促进服务中心有没有引进500强企业？",  # 有没有 about one named unit
        "赫山区投资促进服务中心归哪个局管？",  # 哪个 + an office: one unit's fact
        "开福区楼宇经济中心有哪些项目？",  # 哪些项目 after a named unit: its projects
        "桃江县重点项目建设事务中心负责哪些项目？",
        "哪些指标没有完成？",  # 哪些 + no kind of unit
        "哪些支出超了预算？",
    ],
)
def test_one_units_questions_stay_lookups(question: str) -> None:
    assert understand(question, [], []).intent == "lookup"


def test_the_ones_that_state_a_problem(sample_retriever: Retriever) -> None:
    """Session 19 (tuning set J): "…的有哪些" with no entity word was a lookup, so the question listed no unit."""
    catalogue = list(sample_retriever.catalogue().values())
    u = understand("预算编制不细化的有哪些", [], catalogue)
    assert (u.intent, u.topic) == ("aggregate", "预算编制不细化")
    assert understand("资金拨下来半年没花的都有哪些？", [], catalogue).intent == "aggregate"
    # No problem stated, or a unit named: the things of one unit.
    assert understand("2021年新增的有哪些？", [], catalogue).intent == "lookup"
    assert understand("赫山区投资促进服务中心未完成的有哪些？", [], catalogue).intent == "lookup"


def test_who_after_a_scope(sample_retriever: Retriever) -> None:
    catalogue = list(sample_retriever.catalogue().values())
    u = understand("2021年谁的预算编得粗？", [], catalogue)
    assert (u.intent, u.topic, u.filters.year) == ("aggregate", "预算编得粗", 2021)
    u = understand("在湖南省，专账核算不到位的单位都有谁？", [], catalogue)
    assert (u.intent, u.topic, u.filters.region) == ("aggregate", "专账核算不到位", "湖南省")


def test_a_problem_stays_in_the_topic() -> None:
    """ "…有问题的单位有哪些": 有问题 is what makes the topic a problem; 资产管理 alone is a neutral subject."""
    assert understand("资产管理有问题的单位有哪些？", [], []).topic == "资产管理有问题"


def test_who_is_no_organisation_name() -> None:
    """ "谁的政府采购…" once named an organisation "谁的政府" that no report has, and the question was declined."""
    from qa.understand import named_orgs

    assert named_orgs("谁的政府采购程序有问题？") == []


def test_years_as_people_type_them(sample_retriever: Retriever) -> None:
    catalogue = list(sample_retriever.catalogue().values())
    assert understand("赫山区投资促进服务中心21年基本支出是多少？", [], catalogue).filters.year == 2021
    assert understand("桃江县重点项目建设事务中心二〇二二年的项目支出是多少？", [], catalogue).filters.year == 2022
    # Durations are no years.
    assert understand("项目实施期为10年的有哪些？", [], catalogue).filters.year is None
    assert understand("资产使用年限15年以上的设备有多少？", [], catalogue).filters.year is None


def test_continue_after_a_page_of_units_asks_the_same_question_for_the_next_page() -> None:
    q = "哪些单位提到预算编制不够细化？"
    page = page_header(120, "“预算编制不够细化”", 0, 50) + "\n1. 甲局：预算编制不够细化。\n"
    for more in ("继续", "还有呢？", "剩下的单位有哪些？", "下一页", "其余的呢"):
        u = understand(more, [Turn("user", q), Turn("assistant", page)], [])
        assert (u.standalone, u.intent, u.offset) == (q, "aggregate", 50), more
    # Again after the second page, from the question asked first; and the last page has no next one.
    second = page_header(120, "“预算编制不够细化”", 50, 100)
    history = [Turn("user", q), Turn("assistant", page), Turn("user", "继续"), Turn("assistant", second)]
    assert understand("继续", history, []).offset == 100
    last = page_header(120, "“预算编制不够细化”", 100, 120)
    # After the last page or a whole list, the next page is past the end (the answer: no more units). Session 24:
    # "继续" was read as part of the question ("哪些单位提到预算编制不够细化继续"), and listed its units again.
    after_last = understand("继续", [Turn("user", q), Turn("assistant", last)], [])
    assert (after_last.standalone, after_last.offset) == (q, 120)
    whole = "共有 2 个单位提到“预算编制不够细化”：\n1. 甲局：…\n2. 乙局：…"
    history = [Turn("user", q), Turn("assistant", whole)]
    assert (understand("继续", history, []).standalone, understand("继续", history, []).offset) == (q, 2)
    none_left = "共有 2 个单位提到“预算编制不够细化”，第 3 个起已没有更多单位。"
    assert understand("还有吗？", [*history, Turn("user", "继续"), Turn("assistant", none_left)], []).offset == 2
    # After an answer that is no page, "还有呢" asks the previous question again (was "还有赫山区基本支出是多少？").
    lookup = understand("还有呢？", [Turn("user", "赫山区基本支出是多少？"), Turn("assistant", "388.07万元")], [])
    assert lookup.offset == 0 and lookup.standalone == "赫山区基本支出是多少？"


def test_units_named_in_order_with_the_place_check_and_no_stale_names(sample_retriever: Retriever) -> None:
    """`match_units` over names grouped once per catalogue list: units in order of appearance (a tie in catalogue
    order), a short alias refused after another place, and a list that grew (or another list) is not answered from
    the names of the one before."""
    from ingest.schema import DocFields, DocRecord
    from qa.answer import Answerer
    from qa.understand import match_units

    def record(doc_id: str, unit: str, region: str, year: int = 2021) -> DocRecord:
        return DocRecord(DocFields(doc_id, f"{doc_id}.txt", "t", unit, region, year, "部门整体支出"), "txt", 3, 0.0)

    catalogue = [
        record("a", "益阳市赫山区投资促进服务中心", "湖南省益阳市赫山区"),
        record("b", "益阳市桃江县投资促进服务中心", "湖南省益阳市桃江县"),
        record("c", "益阳市赫山区商务局", "湖南省益阳市赫山区"),
        record("a22", "益阳市赫山区投资促进服务中心", "湖南省益阳市赫山区", 2022),
    ]
    text = "赫山区商务局和桃江县投资促进服务中心，还有投资促进服务中心"
    # 商务局 first; the bare alias 投资促进服务中心 after 桃江县 is 桃江's, not 赫山's; the last one names both, at one
    # position, so they follow catalogue order.
    assert match_units(text, catalogue) == [
        "益阳市赫山区商务局",
        "益阳市桃江县投资促进服务中心",
        "益阳市赫山区投资促进服务中心",
    ]
    assert match_units("资阳区投资促进服务中心", catalogue) == []
    both = ["益阳市赫山区投资促进服务中心", "益阳市桃江县投资促进服务中心"]
    assert match_units("投资促进服务中心", catalogue) == both
    assert match_units("投资促进服务中心", catalogue[2::-1]) == both[::-1]
    catalogue.append(record("d", "益阳市资阳区投资促进服务中心", "湖南省益阳市资阳区"))
    assert match_units("资阳区投资促进服务中心", catalogue) == ["益阳市资阳区投资促进服务中心"]
    assert match_units("资阳区投资促进服务中心", catalogue[:3]) == []
    # The answerer keeps one list per catalogue object, so the names are grouped once per change of the library.
    ctx = Answerer(sample_retriever).ctx
    assert ctx.records() is ctx.records() and ctx.records() == list(sample_retriever.catalogue().values())


def _turns(*pairs: tuple[str, str]) -> list[Turn]:
    return [t for q, a in pairs for t in (Turn("user", q), Turn("assistant", a))]


def test_questions_about_the_last_list() -> None:
    """Session 22: after a which-units answer, "分别是哪些？" and "这些单位一共有几个？" ask for that list again (they were
    read as a topic 分别, or as a question about each unit), "其中2021年的有哪些？" for a part of it (was a lookup)."""
    asked = ("哪些单位提到预算编制不够细化？", "共有 2 个单位提到“预算编制不够细化”：")
    each = ("它们分别提出了什么改进措施？", "益阳市赫山区投资促进服务中心：……")
    for question, history in [
        ("分别是哪些？", _turns(("有多少单位提到预算编制不够细化？", "共有 2 个单位…"))),
        ("这些单位一共有几个？", _turns(asked, each)),
        ("一共几个？", _turns(asked)),
    ]:
        u = understand(question, history, [])
        assert (u.intent, u.topic) == ("aggregate", "预算编制不够细化"), (question, u)
    part = understand("其中2021年的有哪些？", _turns(asked, each), [])
    assert (part.intent, part.topic, part.filters.year) == ("aggregate", "预算编制不够细化", 2021)
    # Session 24: asked the other way round (was a question to each listed unit, answered with their best lines).
    for other in ("其中哪些是2021年的？", "其中有几个是2021年的？"):
        again = understand(other, _turns(asked, each), [])
        assert (again.intent, again.topic, again.filters.year, again.units) == (
            "aggregate",
            "预算编制不够细化",
            2021,
            (),
        ), other
    assert (
        understand("其中哪几个是芙蓉区的单位？", _turns(asked), []).standalone == "芙蓉区哪些单位提到预算编制不够细化？"
    )
    # Session 25: a kind of report is a part of the list too (was a question to each listed unit).
    for kind_part, kind in (
        ("其中哪个单位是部门整体支出报告？", "部门整体支出"),
        ("其中项目支出报告有哪些？", "项目支出"),
    ):
        by_kind = understand(kind_part, _turns(asked), [])
        assert (by_kind.intent, by_kind.topic, by_kind.filters.report_kind, by_kind.units) == (
            "aggregate",
            "预算编制不够细化",
            kind,
            (),
        ), kind_part
    region = understand("其中芙蓉区的呢？", _turns(asked, ("其中2021年的有哪些？", "共有…")), [])
    assert region.standalone == "芙蓉区哪些单位提到预算编制不够细化？" and region.intent == "aggregate"
    # An amount is no count of units: about the listed reports, as before.
    assert understand("其中基本支出有多少？", _turns(asked), []).intent == "lookup"
    # After a lookup, "其中…" is still about that unit's answer.
    lookup = understand("其中人员经费呢？", _turns(("赫山区投资促进服务中心2021年基本支出是多少？", "388.07万元")), [])
    assert lookup.intent == "lookup"


def test_follow_ups_of_follow_ups_keep_the_unit_and_year(sample_retriever: Retriever) -> None:
    """Session 24: a follow-up was read against the previous question's words, not what it had been understood as,
    so "那公用经费占多少？" after "人员经费呢？" became "人员经费呢那公用经费占多少？" (no unit: declined); a new item
    asked with 呢 was put in front of the old one ("人员经费赫山区…2021年基本支出是多少？")."""
    catalogue = list(sample_retriever.catalogue().values())
    history: list[Turn] = []
    said = []
    for question in [
        "赫山区投资促进服务中心2021年基本支出是多少？",
        "人员经费呢？",
        "那公用经费占多少？",
        "公用经费占基本支出的比例是多少？",
        "那2020年的呢？",
    ]:
        said.append(understand(question, history, catalogue).standalone)
        history += [Turn("user", question), Turn("assistant", "……")]
    assert said[1:] == [
        "赫山区投资促进服务中心2021年人员经费是多少？",
        "赫山区投资促进服务中心2021年公用经费占多少？",
        "赫山区投资促进服务中心2021年公用经费占基本支出的比例是多少？",
        "赫山区投资促进服务中心2020年公用经费占基本支出的比例是多少？",
    ]
    # A new predicate of the same subject is still asked of it.
    first = ("大祥工业集中区2021年规模以上工业总产值是多少？", "……")
    assert (
        understand("同比增长了多少？", _turns(first), catalogue).standalone
        == "大祥工业集中区2021年规模以上工业总产值同比增长了多少？"
    )
    grown = _turns(first, ("同比增长了多少？", "……"))
    assert understand("那实缴税金呢？", grown, catalogue).standalone == "大祥工业集中区2021年实缴税金多少？"
    # Another unit or place asked with 呢: the same question of it, in the same year (was both units: per unit).
    other = understand("那芙蓉区商务局呢？", history[:2], catalogue)
    assert other.standalone == "芙蓉区商务局2021年基本支出是多少？" and other.intent == "lookup"
    assert understand("赫山区的呢？", _turns(first), catalogue).standalone == "赫山区2021年规模以上工业总产值是多少？"
    # A place by its stem, said of where it is (session 26: "赫山那边呢？" was read as the item 赫山那边 of 大祥).
    assert understand("赫山那边呢？", _turns(first), catalogue).standalone == "赫山区2021年规模以上工业总产值是多少？"
    assert understand("赫山呢？", _turns(first), catalogue).standalone == "赫山区2021年规模以上工业总产值是多少？"


def test_except_them_leaves_the_last_list_out(sample_retriever: Retriever) -> None:
    """Session 26: "除了它们，还有谁提到人员不足？" answered each unit of the last list (它们 was read as the units asked
    about); the units it refers to are left out of a new list."""
    catalogue = list(sample_retriever.catalogue().values())
    history = _turns(
        (
            "哪些单位提到专业人才缺乏？",
            "共有 2 个单位提到“专业人才缺乏”：\n1. 芙蓉区商务局：…\n2. 湖南省大祥工业集中区管理委员会：…",
        )
    )
    u = understand("除了它们，还有谁提到人员不足？", history, catalogue)
    assert (
        u.intent == "aggregate"
        and u.units == ()
        and set(u.excluded)
        == {
            "芙蓉区商务局",
            "湖南省大祥工业集中区管理委员会",
        }
    ), u


def test_follow_ups_asking_another_unit_year_or_the_thing_named(sample_retriever: Retriever) -> None:
    """Session 27 (blind follow-up chats fu-101…132): "那大祥呢？" was read as the item 大祥 of 芙蓉区商务局, "那天心区商务局
    呢？" as an item too (answered with 芙蓉's figure), "那2022年交了多少税？" kept the old year beside the new one, "这个
    项目" lost the project named before, and "还有别的单位也提到…吗？" was a lookup of the last unit."""
    catalogue = list(sample_retriever.catalogue().values())

    def read(*turns: str) -> str:
        history = [t for q in turns[:-1] for t in (Turn("user", q), Turn("assistant", "……"))]
        return understand(turns[-1], history, catalogue).standalone

    # A unit by its stem or "stem + 管委会"; another unit's report may be of another kind.
    assert (
        read("芙蓉区商务局2021年的项目支出自评报告里说存在哪些问题？", "那大祥呢？")
        == "大祥园区2021年报告里说存在哪些问题？"
    )
    assert read("赫山区投资促进服务中心2021年人员经费是多少？", "那大祥管委会呢？") == "大祥园区2021年人员经费是多少？"
    # An organisation the library does not hold is asked about (and declined), not taken for an item.
    assert read("芙蓉区商务局在职一共多少人？", "那天心区商务局呢？") == "天心区商务局在职一共多少人？"
    # Another year of the same subject.
    assert read("大祥工业集中区2021年实缴税金多少？", "那2022年交了多少税？") == "大祥工业集中区2022年交了多少税？"
    # "这个项目" is the project the previous question named, in its scope; kept as said when it only asked which.
    assert (
        read("芙蓉区商务局2021年农贸市场提质改造项目的预算是多少？", "那这个项目实际花了多少？")
        == "芙蓉区商务局2021年农贸市场提质改造项目实际花了多少？"
    )
    assert (
        read("桃江重点项目中心那个“经费补助缺口”项目是干什么用的？", "这个项目的资金有多少？")
        == "桃江重点项目中心“经费补助缺口”项目的资金有多少？"
    )
    assert (
        read("开福区楼宇经济那个中心2021年计划办什么峰会？", "最后有多少家企业来参加了这次峰会？")
        == "开福区楼宇经济那个中心2021年最后有多少家企业来参加了这次峰会？"
    )
    # The same topic asked of the units not named yet.
    u = understand(
        "还有别的单位也提到预算编制不够细化吗？",
        _turns(
            (
                "赫山区投资促进服务中心2021年报告里存在什么问题？",
                "益阳市赫山区投资促进服务中心指出预算编制工作有待细化。",
            )
        ),
        catalogue,
    )
    assert (u.intent, u.topic, u.excluded) == ("aggregate", "预算编制不够细化", ("益阳市赫山区投资促进服务中心",)), u
    # Session 28 (fu-219): asked with 还有谁, after "别的单位呢？"; 明确 is how it was said, not what.
    u = understand(
        "别的单位呢？还有谁明确说过没有挪用的？",
        _turns(("芙蓉区商务局的专项资金有没有被挪用？", "报告称专项资金专款专用，无挪用、占用、套取的现象发生。")),
        catalogue,
    )
    assert (u.intent, u.topic, u.excluded) == ("aggregate", "没有挪用", ("芙蓉区商务局",)), u


def test_which_units_among_units_of_a_kind_of_report_and_what_they_set_out(sample_retriever: Retriever) -> None:
    """Session 28 (blind which-units probes agr-NNN): "…的单位中，哪些…" was a lookup, "项目支出类的自评报告中" no kind
    filter, and 交代了 stayed in the topic."""
    catalogue = list(sample_retriever.catalogue().values())
    u = understand("益阳市的单位中，哪些在报告里写了外商直接投资的完成情况？", [], catalogue)
    assert (u.intent, u.filters.region, u.topic) == ("aggregate", "益阳市", "外商直接投资的完成情况"), u
    u = understand("项目支出类的自评报告中，哪些单位召开了座谈会？", [], catalogue)
    assert (u.filters.report_kind, u.topic) == ("项目支出", "召开了座谈会"), u
    assert understand("几家单位在报告里交代了编制数和实有人数？", [], catalogue).topic == "编制数和实有人数"
    # A unit's own report is still asked about as a lookup.
    assert understand("赫山投促中心的报告中哪些措施提到细化预算？", [], catalogue).intent == "lookup"


def test_follow_ups_by_first_unit_these_two_another_place_and_this_money(sample_retriever: Retriever) -> None:
    """Session 28 (blind follow-up chats fu-201…230): "头一个单位…" was no ordinal, "除了这俩" left out nobody, "换成赫山的
    呢？" no new subject, "这笔钱" no thing named before, and "花在哪些地方" asked for places (and which units)."""
    catalogue = list(sample_retriever.catalogue().values())

    def read(*turns: str) -> str:
        history = _turns(*zip(turns[:-1:2], turns[1:-1:2]))
        return understand(turns[-1], history, catalogue).standalone

    listed = (
        "有哪些单位的报告提到了外商直接投资？",
        "两家：赫山区投资促进服务中心（目标任务630万美元）和芙蓉区商务局（28000万美元）。",
    )
    assert read(*listed, "头一个单位编制几个人？") == "益阳市赫山区投资促进服务中心编制几个人？"
    assert read(*listed, "最后一家的报告是哪年的？") == "芙蓉区商务局的报告是哪年的？"
    u = understand("除了这俩，还有谁提到招商引资？", _turns(listed), catalogue)
    assert (u.intent, u.excluded) == ("aggregate", ("益阳市赫山区投资促进服务中心", "芙蓉区商务局")), u
    fdi = ("芙蓉区商务局2021年外商直接投资完成了多少？", "完成外商直接投资28000万美元。")
    assert read(*fdi, "换成赫山的呢？") == "赫山区2021年外商直接投资完成了多少？"
    money = ("桃江县重点项目建设事务中心2022年“经费补助缺口”项目有多少钱？", "项目资金金额为17.99万元。")
    u = understand("这笔钱主要花在哪些地方？", _turns(money), catalogue)
    assert (u.intent, u.standalone) == (
        "lookup",
        "桃江县重点项目建设事务中心2022年“经费补助缺口”项目资金主要花在哪些地方？",
    ), u


def test_what_was_spent_after_the_budget_is_not_the_budget(sample_retriever: Retriever) -> None:
    """Session 28 (fu-223): "最后实际花了多少？" after "…项目支出年初预算多少？" kept 年初预算 in the question, so the
    budget's own lines answered it."""
    catalogue = list(sample_retriever.catalogue().values())
    budget = ("芙蓉区商务局2021年项目支出年初预算多少？", "年初预算450.00万元。")
    u = understand("最后实际花了多少？", _turns(budget), catalogue)
    assert u.standalone == "芙蓉区商务局2021年项目支出最后实际花了多少？", u


def test_a_list_in_other_words_and_its_units_by_place_or_order(sample_retriever: Retriever) -> None:
    """Session 27: a list written by someone else ("开福区楼宇经济中心的报告…和区商务局（芙蓉区）的报告…") named no
    unit as the catalogue spells it, so "它们各自给了什么建议？" asked about nobody; "第二个单位呢？" and "这两个单位里…"
    were not read as units of the list."""
    catalogue = list(sample_retriever.catalogue().values())
    listed = (
        "哪些报告把绩效目标或绩效指标不够细化列为问题？",
        "两份：开福区楼宇经济中心的报告（部分项目绩效产出效益指标不够细化明晰）和区商务局（芙蓉区）的报告。",
    )
    u = understand("它们各自给了什么建议？", _turns(listed), catalogue)
    assert u.units == ("000_b17f134b7a6d8e07.txt", "芙蓉区商务局"), u
    staff = (
        "哪些单位的报告写了人员编制或在职人数？",
        "两家：益阳市赫山区投资促进服务中心（编制13人）和区商务局（芙蓉区，合计在职20人）。",
    )
    both = understand("这两个单位里谁的在职人数多？", _turns(staff), catalogue)
    assert both.units == ("益阳市赫山区投资促进服务中心", "芙蓉区商务局"), both
    # A unit of the list picked by its place is asked alone (with the list's units found by place, "其中…那家"
    # became a question to each unit of the list).
    picked = understand("其中芙蓉区那家的在职人数是多少？", _turns(staff), catalogue)
    assert picked.intent == "lookup" and picked.standalone.startswith("芙蓉区商务局"), picked
    # Places named outside a list do not make one: a lookup's answer keeps its one unit.
    said = ("赫山区投资促进服务中心2021年基本支出是多少？", "益阳市赫山区投资促进服务中心：…（芙蓉区不在此列）")
    assert understand("它的人员经费是多少？", _turns(said), catalogue).standalone.startswith(
        "益阳市赫山区投资促进服务中心"
    )
    # The Nth unit of the last list, however many turns ago it was given.
    kinds = (
        "库里哪几份是部门整体支出绩效评价报告？",
        "有两份：1. 益阳市赫山区投资促进服务中心2021年度部门整体支出绩效评价报告；2. 湖南省大祥工业集中区管理委员会2021年度部门整体支出绩效评价报告。",
    )
    first = understand("第一个单位提了哪些改进措施？", _turns(kinds), catalogue)
    assert first.standalone == "益阳市赫山区投资促进服务中心提了哪些改进措施？", first
    history = _turns(kinds, ("第一个单位提了哪些改进措施？", "益阳市赫山区投资促进服务中心提出三方面改进措施：……"))
    assert (
        understand("第二个单位呢？", history, catalogue).standalone
        == "湖南省大祥工业集中区管理委员会提了哪些改进措施？"
    )
    assert "第二个问题" in understand("第二个问题是什么？", _turns(kinds), catalogue).standalone  # no unit


def test_a_place_by_its_stem_scopes_a_question(sample_retriever: Retriever) -> None:
    """Session 27: "开福楼宇经济中心的编制人数是多少？" named no place (开福区 only in full), so 赫山's 编制人数13人 answered."""
    catalogue = list(sample_retriever.catalogue().values())
    assert understand("开福楼宇经济中心的编制人数是多少？", [], catalogue).filters.region == "开福区"
    assert understand("编制人数是多少？", [], catalogue).filters.region is None


def test_a_long_chat_is_read_from_its_recent_turns(sample_retriever: Retriever) -> None:
    """Each earlier question is read again in its own context; a long chat must not make that unbounded."""
    catalogue = list(sample_retriever.catalogue().values())
    history = _turns(("赫山区投资促进服务中心2021年基本支出是多少？", "……"))
    for _ in range(200):
        history += _turns(("人员经费呢？", "……"), ("那公用经费呢？", "……"))
    u = understand("那2020年的呢？", history, catalogue)
    assert u.filters.year == 2020 and "公用经费" in u.standalone


def test_an_exception_and_a_negated_mention() -> None:
    u = understand("除了赫山区投资促进服务中心，还有哪些单位提到预算编制不够细化？", [], [])
    assert (u.intent, u.topic, u.excluded, u.filters.unit) == (
        "aggregate",
        "预算编制不够细化",
        ("赫山区投资促进服务中心",),
        None,
    )
    for q in (
        "哪些单位没有提到预算编制不够细化？",
        "没有提到预算编制不够细化的单位有哪些？",
        "哪些单位未提及预算编制不够细化？",
    ):
        n = understand(q, [], [])
        assert (n.intent, n.topic, n.complement) == ("aggregate", "预算编制不够细化", True), q
    # A problem worded with 没有 is no negated mention.
    assert not understand("哪些单位没有实行专账核算？", [], []).complement


def test_two_topics_in_one_question() -> None:
    for q, joined in (
        ("哪些单位既提到预算编制不够细化又提到绩效目标不够细化？", "and"),
        ("哪些单位同时提到预算编制不够细化和绩效目标不够细化？", "and"),
        ("哪些单位提到预算编制不够细化或者绩效目标不够细化？", "or"),
    ):
        u = understand(q, [], [])
        assert (u.intent, u.topic, u.also, u.joined) == ("aggregate", "预算编制不够细化", "绩效目标不够细化", joined), q
    # 和 / 或者 inside one topic join its words, not two topics.
    for q in (
        "哪些单位提到预算编制和执行不够规范？",
        "哪些单位报告里提到水库或者山塘有渗漏隐患？",
        "哪些单位同时存在资金和人员不足？",
    ):
        assert understand(q, [], []).also == "", q
