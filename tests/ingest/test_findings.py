"""Findings extraction on every bundled sample: which items, where they start and end, what leads them."""

from __future__ import annotations

from functools import lru_cache

import pytest

from ingest.clean import clean_text
from ingest.findings import Finding, extract_findings, states_no_problem
from ingest.structure import parse_structure
from tests.conftest import SAMPLES


@lru_cache(maxsize=8)
def _sample(name: str) -> tuple[str, tuple[Finding, ...]]:
    text = clean_text((SAMPLES / name).read_text(encoding="utf-8")).text
    return text, tuple(extract_findings(text, parse_structure(text)))


def _texts(name: str, role: str) -> list[str]:
    return [f.text for f in _sample(name)[1] if f.role == role]


def _extract(doc: str) -> list[tuple[str, str, str]]:
    return [(f.role, f.text, f.lead) for f in extract_findings(doc, parse_structure(doc))]


@pytest.mark.parametrize(
    ("name", "problems", "measures"),
    [
        ("000_b17f134b7a6d8e07.txt", 4, 6),
        ("001_5adf402d10fbcc74.txt", 1, 7),
        ("002_746ff3ccd9e6e85d.txt", 1, 4),
        ("003_332cd0b86e5ac67a.txt", 2, 2),
        ("004_30f3d27d840c4c9e.txt", 2, 3),
    ],
)
def test_counts_and_offsets_of_every_sample(name: str, problems: int, measures: int) -> None:
    text, found = _sample(name)
    assert (len(_texts(name, "problem")), len(_texts(name, "measure"))) == (problems, measures)
    for f in found:
        assert text[f.char_start : f.char_end] == f.text
        assert f.text == f.text.strip() and f.text[-1] not in "；，、"
        assert f.sentences() and f.sentences()[0][0] == f.char_start and f.sentences()[-1][1] <= f.char_end
    assert [f.char_start for f in found] == sorted(f.char_start for f in found)


def test_000_sub_items_keep_their_reasons_and_share_the_headline() -> None:
    name = "000_b17f134b7a6d8e07.txt"
    problems = [f for f in _sample(name)[1] if f.role == "problem"]
    assert [f.text for f in problems[1:3]] == [
        "二是部分项目绩效产出效益指标不够细化明晰。",
        "三是项目台账不够规范完整。",
    ]
    # The reason ("因有的项目时间紧…") stays with its problem; the ； that ends the sub-item does not.
    assert problems[0].text.startswith("一是部分项目存在前期准备资料欠缺的情况，因有的项目时间紧、任务重")
    assert problems[0].text.endswith("在实际操作中很难备齐全套资料")
    assert {f.lead for f in problems[:3]} == {"部分项目管理不够规范"}
    assert (
        problems[3].text == "2、项目资金未实行专账核算。由于未按项目进行专账核算，导致各项目资金使用情况不能一目了然。"
    )
    assert problems[3].lead == ""
    measures = _texts(name, "measure")
    assert [m[:2] for m in measures[:5]] == ["一是", "二是", "三是", "四是", "五是"]
    assert measures[0] == "一是进一步完善项目管理规章制度，监督制度执行情况，确保有章可依，有章必依"
    assert measures[2].endswith("办实事、办好事。") and measures[4] == "五是利用办公软件，做好各个项目的管理台账。"
    # A sub-heading whose title mentions 资金 is still a measure (not a funds section), with its paragraph.
    assert (
        measures[5]
        == "2、规范资金核算\n为提高工作效率和核算准确性，财务应尽量利用财务核算软件功能，实行项目专账核算，确保项目支出清晰完整。"
    )
    assert "六、其他需要说明的问题" not in {f.section for f in _sample(name)[1]}


def test_001_paragraph_problem_and_items_under_sub_headings() -> None:
    name = "001_5adf402d10fbcc74.txt"
    (problem,) = _texts(name, "problem")
    assert problem.startswith("预算编制工作有待细化。预算编制不够明确和细化") and problem.endswith(
        "导致预算执行存在偏差。"
    )
    measures = [f for f in _sample(name)[1] if f.role == "measure"]
    assert [m.text[:2] for m in measures] == ["1．", "2．", "1．", "2．", "1．", "2．", "3．"]
    assert [m.lead for m in measures[::2]] == [
        "提高认识，突出重点",
        "强化管理，规范行为",
        "科学考核，注重实效",
        "科学考核，注重实效",
    ]
    # The closing "总之，…" paragraph sums the section up; it is not part of measure 3 nor a measure itself.
    assert measures[-1].text == "3．注重考核的全面性和客观性，对预设指标之外的项目效果同样纳入考核评价报告。"
    assert not any("总之" in m.text for m in measures)
    assert not any("科学合理编制预算，严格执行预算" in f.text for f in _sample(name)[1]), (
        "九、其他需要说明的情况 is not a measures section"
    )


def test_002_long_headings_with_inline_body_and_their_sub_items() -> None:
    name = "002_746ff3ccd9e6e85d.txt"
    (problem,) = _texts(name, "problem")
    assert problem.startswith("在项目协调推进过程中，一些项目单位对项目前期工作认识不足") and problem.endswith(
        "制约工程的推进。"
    )
    measures = [f for f in _sample(name)[1] if f.role == "measure"]
    assert measures[0].text.startswith("（一）进一步优化服务，确保项目建设落地更迅速。着手建立“一对一”服务团队制度")
    assert measures[0].text.endswith("确保投资数据增长有项目支撑。")
    assert [m.text[:2] for m in measures[1:]] == ["一是", "二是", "三是"]
    assert {m.lead for m in measures[1:]} == {"进一步严格督考，确保项目建设责任更紧实"}
    assert measures[3].text == "三是联合县委、县政府督查室对推进不力项目开展专项督查，确保项目建设工作有力有序。"


def test_003_and_004_numbered_items() -> None:
    assert _texts("003_332cd0b86e5ac67a.txt", "problem") == [
        "1、项目绩效目标不够细化、量化。预算绩效管理缺乏专职专业管理人员，如环境效益和社会效益缺乏进一步细化目标，无其他定量目标内容及目标值，不便于绩效考核。",
        "2、项目效益有待进一步提升。项目的经济效益和社会效益还有待提升。",
    ]
    measures = _texts("003_332cd0b86e5ac67a.txt", "measure")
    assert measures[0].startswith("1 、加强绩效管理，提升自评质量。") and measures[1].startswith(
        "2、加强对项目中、后期的跟踪、监督及整改。"
    )
    assert _texts("004_30f3d27d840c4c9e.txt", "problem") == [
        "1、预算编制不够细化。",
        "2、缺乏懂法律的、懂财经的、懂环保的专业人才。",
    ]
    assert _texts("004_30f3d27d840c4c9e.txt", "measure") == [
        "1、细化预算管理，提升预算编制质量，提高资金使用效益。",
        "2、规范各项支出，严格按照批复执行预算。",
        "3、规范制度执行，确保资产资金安全。",
    ]


def test_one_line_lists_intros_and_empty_sections() -> None:
    doc = "报告\n五、存在的问题\n主要存在以下问题：\n1、预算编制不够细化。 2、缺乏…人才；3、台账不规范。\n六、改进建议\n（1）细化预算编制。（2）加强监督。\n总之，要做好。\n七、其他需要说明的问题\n无"
    assert _extract(doc) == [
        ("problem", "1、预算编制不够细化。", ""),
        ("problem", "2、缺乏…人才", ""),
        ("problem", "3、台账不规范。", ""),
        ("measure", "（1）细化预算编制。", ""),
        ("measure", "（2）加强监督。", ""),
    ]
    assert _extract("报告\n四、存在问题\n无。\n五、下一步工作打算\n暂无") == []


def test_an_announcing_opening_is_the_lead_not_the_statement() -> None:
    """Its words (评价指标, 自评) are not the problem's: 与相关部门的信息共享还不够顺畅 was counted as 绩效目标不够细化量化."""
    doc = "报告\n四、存在的问题\n对照评价指标，项目实施中还存在一些不足：与相关部门的信息共享还不够顺畅。"
    assert _extract(doc) == [("problem", "与相关部门的信息共享还不够顺畅。", "对照评价指标，项目实施中还存在一些不足")]
    measures = "报告\n五、改进措施\n针对上述问题，下一步将重点做好以下工作：加强部门协同。"
    assert _extract(measures) == [("measure", "加强部门协同。", "针对上述问题，下一步将重点做好以下工作")]
    # A subject before the colon is part of the statement; so is an opening with nothing after it worth a finding.
    subject = "报告\n四、存在的问题\n绩效指标设置方面：效益指标与项目内容关联度不高。"
    assert _extract(subject) == [("problem", "绩效指标设置方面：效益指标与项目内容关联度不高。", "")]
    assert _extract("报告\n四、存在的问题\n存在的问题：无。") == []


def test_sentences_before_inline_items_are_statements_the_last_one_their_lead() -> None:
    """An evaluation conclusion that turns to problems and runs them on: the sentences before "一是…二是…" were all
    taken as the items' lead and lost (项目管理制度不健全 was no finding)."""
    doc = (
        "报告\n六、绩效评价结论\n经综合评价，项目自评得分95.6分。评价中也发现一些问题，由于评价结果未与预算挂钩，"
        "结果运用流于表面。项目管理制度不健全。绩效自评工作不够扎实，一是打分依据不充分；二是问题分析不深入。"
    )
    assert _extract(doc) == [
        ("problem", "由于评价结果未与预算挂钩，结果运用流于表面。项目管理制度不健全。", ""),
        ("problem", "一是打分依据不充分", "绩效自评工作不够扎实"),
        ("problem", "二是问题分析不深入。", "绩效自评工作不够扎实"),
    ]
    # One sentence before the items is their lead, as before.
    one = "报告\n四、存在的问题\n1、部分项目管理不够规范。一是台账不全；二是验收不及时。"
    assert [lead for _, _, lead in _extract(one)] == ["部分项目管理不够规范", "部分项目管理不够规范"]


# Written for this test (not from the scale bank or its wording sets): ways a report says it found nothing wrong.
_NOTHING_FOUND = (
    "经自查，本单位本年度未发现明显问题。",
    "经逐项核对，未查出违规违纪情况。",
    "本年度整体支出管理规范，无需要整改的问题。",
    "综合来看，本部门不存在需要说明的问题。",
    "本单位暂无其他需要说明的问题。",
    "存在的不足：暂无。",
    "本年度各项工作顺利开展，无存在的问题和不足。",
    "本单位全年各项工作运行良好，暂无需要整改的事项。",
    "年内接受的各项检查均未指出问题。",
    "经自评，该项目无明显不足。",
    "本年度无突出问题，整体运行平稳。",
    "项目总体运行良好，本次评价未发现突出问题和不足。",
    "年度任务均已完成，不存在偏离预期目标的情况，无需整改。",
    # A problem of an earlier year, put right: the categoriser alone gives it its concept (资产管理不规范).
    "上年度审计指出的资产管理不规范问题已整改到位。",
    "针对上年度绩效评价指出的专账核算问题，本年度已整改完成。",
    "去年指出的政府采购不规范问题已得到纠正。",
)
# Problems that mention finding nothing: what else they say is the problem.
_PROBLEM_DESPITE = (
    "自评报告称未发现问题，与审计结果不符。",
    "内部监督未发现问题，监督作用发挥不明显。",
    "未发现重大问题，但个别项目进度滞后。",
    "监督检查流于形式，多年未发现任何问题。",
    "日常巡查未发现问题，但隐患长期存在。",
    "部分项目未发现问题即结项，验收把关不严。",
    "对审计发现的问题未整改到位。",
    "部分问题至今未整改到位。",
    "上年度指出的问题已整改，但资金使用效益仍不高。",
    "个别问题已整改到位，其余正在整改。",
    "已整改到位的问题出现反弹。",
)


@pytest.mark.parametrize("sentence", _NOTHING_FOUND)
def test_nothing_found_is_no_finding(sentence: str) -> None:
    assert states_no_problem(sentence)
    assert _extract(f"报告\n四、存在的问题\n{sentence}\n五、改进措施\n1、加强管理。") == [
        ("measure", "1、加强管理。", "")
    ]


@pytest.mark.parametrize("sentence", _PROBLEM_DESPITE)
def test_a_problem_beside_nothing_found_is_a_finding(sentence: str) -> None:
    assert not states_no_problem(sentence)
    assert _extract(f"报告\n四、存在的问题\n{sentence}")[0][:2] == ("problem", sentence)


def test_sub_headings_lead_or_stand_alone() -> None:
    doc = "报告\n六、下一步工作打算\n（一）预算执行方面\n1、严格执行预算。\n2、减少追加。\n（二）人才方面。加强培训，引进人才。\n七、建议\n1.加强管理\n2.完善制度"
    assert _extract(doc) == [
        ("measure", "1、严格执行预算。", "预算执行方面"),
        ("measure", "2、减少追加。", "预算执行方面"),
        ("measure", "（二）人才方面。加强培训，引进人才。", ""),
        ("measure", "1.加强管理", ""),
        ("measure", "2.完善制度", ""),
    ]


def test_numbers_in_text_are_not_list_markers() -> None:
    doc = "报告\n三、存在的问题\n2021年支出1.16亿元，较4.20方案增加，执行进度偏慢，一是个别项目滞后。"
    assert _extract(doc) == [("problem", "2021年支出1.16亿元，较4.20方案增加，执行进度偏慢，一是个别项目滞后。", "")]
