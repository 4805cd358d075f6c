"""Unit / year / kind on cover and title layouts the sample reports do not have (issue #20).

Each case is the opening of a report as a reader extracts it (cover lines, a cover form as table rows, the
part headings), modelled on real 部门决算 / 绩效自评 covers. Expected values are what a person reads off the
cover; "" / None where the cover does not say. The whole table must be ≥ 95 % exact and never wrong: a
field is either the expected value or left empty.
"""

from __future__ import annotations

import pytest

from ingest.clean import clean_text
from ingest.metadata import infer_metadata
from ingest.structure import parse_structure

_BODY = "\n目录\n第一部分 {u}概况\n一、主要职能\n第二部分 {u}2024年度部门决算表\n第三部分 {u}2024年度部门决算情况说明\n一、收入支出决算总体情况说明\n本年度收入合计100.00万元。"

# (cover text, expected unit, year, kind)
CASES: list[tuple[str, str, int | None, str]] = [
    # titles split over lines
    (
        "上海市普陀区财政局\n年度部门决算\n2024" + _BODY.format(u="上海市普陀区财政局"),
        "上海市普陀区财政局",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区财政局\n2024 年度部门决算" + _BODY.format(u="上海市普陀区财政局"),
        "上海市普陀区财政局",
        2024,
        "部门决算",
    ),
    (
        "2024年度\n上海市普陀区教育局\n部门决算" + _BODY.format(u="上海市普陀区教育局"),
        "上海市普陀区教育局",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区卫生健康委员会\n部门决算\n（2024年度）" + _BODY.format(u="上海市普陀区卫生健康委员会"),
        "上海市普陀区卫生健康委员会",
        2024,
        "部门决算",
    ),
    (
        "中共上海市普陀区委\n宣传部 2024 年度部门决算" + _BODY.format(u="中共上海市普陀区委宣传部"),
        "中共上海市普陀区委宣传部",
        2024,
        "部门决算",
    ),
    (
        "2024年部门决算\n上海市普陀区残疾人联合会" + _BODY.format(u="上海市普陀区残疾人联合会"),
        "上海市普陀区残疾人联合会",
        2024,
        "部门决算",
    ),
    (
        "部门决算\n2024\n上海市普陀区科学技术委员会" + _BODY.format(u="上海市普陀区科学技术委员会"),
        "上海市普陀区科学技术委员会",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区\n民防办公室\n2024年度部门决算" + _BODY.format(u="上海市普陀区民防办公室"),
        "上海市普陀区民防办公室",
        2024,
        "部门决算",
    ),
    # year after the unit, in brackets or with spaces
    (
        "上海市普陀区民政局2024年度部门决算" + _BODY.format(u="上海市普陀区民政局"),
        "上海市普陀区民政局",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区司法局部门决算（2024年度）" + _BODY.format(u="上海市普陀区司法局"),
        "上海市普陀区司法局",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区 商务委员会 2024 年度 部门决算" + _BODY.format(u="上海市普陀区商务委员会"),
        "上海市普陀区商务委员会",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区长征镇人民政府 2024年部门决算" + _BODY.format(u="上海市普陀区长征镇人民政府"),
        "上海市普陀区长征镇人民政府",
        2024,
        "部门决算",
    ),
    (
        "上海市普陀区档案馆2024年度单位决算" + _BODY.format(u="上海市普陀区档案馆"),
        "上海市普陀区档案馆",
        2024,
        "部门决算",
    ),
    # unit only in the part headings
    ("2024年度部门决算" + _BODY.format(u="上海市普陀区体育局"), "上海市普陀区体育局", 2024, "部门决算"),
    (
        "部门决算\n2024年度" + _BODY.format(u="上海市普陀区退役军人事务局"),
        "上海市普陀区退役军人事务局",
        2024,
        "部门决算",
    ),
    # cover forms: fields as lines or as table rows
    (
        "2024年度部门决算\n单位名称：上海市普陀区审计局\n单位负责人：张三\n编制日期：2025年3月\n目录\n一、收入支出决算总表",
        "上海市普陀区审计局",
        2024,
        "部门决算",
    ),
    (
        "部门决算\n2024年度\n填报单位 | 上海市普陀区统计局\n单位负责人 | 李四\n财务负责人 | 王五\n一、收入支出决算总表",
        "上海市普陀区统计局",
        2024,
        "部门决算",
    ),
    (
        "部门决算报表\n预算单位：上海市普陀区医疗保障局\n决算年度：2024\n单位：万元\n收入支出决算总表",
        "上海市普陀区医疗保障局",
        2024,
        "部门决算",
    ),
    (
        "关于2022年度部门整体支出绩效评价的报告\n填报单位（盖章）：桃江县农业农村局\n一、部门基本情况\n本单位共有编制20人。",
        "桃江县农业农村局",
        2022,
        "部门整体支出",
    ),
    (
        "项目支出绩效自评报告\n项目名称：农村公路养护\n项目实施单位：桃江县交通运输局\n主管部门：桃江县人民政府\n评价年度：2022年\n一、项目基本情况",
        "桃江县交通运输局",
        2022,
        "项目支出",
    ),
    (
        "部门整体支出绩效自评表\n单位名称 | 长沙市开福区城市管理和综合执法局 | 年度 | 2021\n年度预算 | 1000.00 | 执行数 | 980.00\n一、绩效目标完成情况",
        "长沙市开福区城市管理和综合执法局",
        2021,
        "部门整体支出",
    ),
    # the 绩效自评 reports' own titles
    (
        "长沙市开福区发展和改革局\n2022年度部门整体支出绩效自评报告\n一、部门概况",
        "长沙市开福区发展和改革局",
        2022,
        "部门整体支出",
    ),
    (
        "湖南省益阳市赫山区住房和城乡建设局2021年部门整体支出绩效自评报告\n一、基本情况",
        "湖南省益阳市赫山区住房和城乡建设局",
        2021,
        "部门整体支出",
    ),
    (
        "2023年度上海市普陀区绿化和市容管理局“城市绿化养护”项目支出绩效自评报告\n一、项目概况",
        "上海市普陀区绿化和市容管理局",
        2023,
        "项目支出",
    ),
    ("2022年度桃江县水利局重点项目绩效评价报告\n一、项目基本情况", "桃江县水利局", 2022, "项目支出"),
    (
        "益阳市赫山区教育局关于2021年度部门整体支出绩效自评的报告\n一、部门概况",
        "益阳市赫山区教育局",
        2021,
        "部门整体支出",
    ),
    ("邵阳市大祥区人民医院\n2021年度整体支出绩效评价报告\n一、基本情况", "邵阳市大祥区人民医院", 2021, "部门整体支出"),
    (
        "芙蓉区东湖街道办事处2021年度部门整体支出绩效自评报告\n一、基本情况",
        "芙蓉区东湖街道办事处",
        2021,
        "部门整体支出",
    ),
    # nothing names the unit: stays empty, even with a third party or a unit of measure on the cover
    (
        "2021年度部门整体支出绩效评价报告\n评价机构：湖南某某会计师事务所有限公司\n一、基本情况\n本单位内设5个科室。",
        "",
        2021,
        "部门整体支出",
    ),
    ("部门决算\n2024年度\n单位：万元\n收入支出决算总表\n项目 | 决算数", "", 2024, "部门决算"),
    ("2021年度重点项目绩效评价结果\n一、重点项目支出基本情况\n我中心负责楼宇经济工作。", "", 2021, "项目支出"),
    ("工作总结\n今年我们完成了各项工作。", "", None, "其他"),
    # two different units in the part headings: ambiguous, left empty
    ("2024年度部门决算\n第一部分 上海市普陀区甲局概况\n第二部分 上海市普陀区乙局部门决算表", "", 2024, "部门决算"),
    # a date on the cover is not the reporting year; the body's 年度 is
    (
        "上海市普陀区房屋管理局部门决算\n编制日期：2025年3月\n一、概况\n2024年度收入合计100.00万元。2024年度支出合计90.00万元。",
        "上海市普陀区房屋管理局",
        2024,
        "部门决算",
    ),
]


def _infer(cover: str) -> tuple[str, int | None, str]:
    text = clean_text(cover).text
    meta = infer_metadata(parse_structure(text).title, text, "upload.pdf")
    return meta.unit, meta.year, meta.report_kind


@pytest.mark.parametrize(("cover", "unit", "year", "kind"), CASES, ids=[c[0].split("\n")[0][:20] for c in CASES])
def test_layout_is_inferred_or_left_empty(cover: str, unit: str, year: int | None, kind: str) -> None:
    got_unit, got_year, got_kind = _infer(cover)
    assert got_unit in (unit, ""), f"wrong unit {got_unit!r}"
    assert got_year in (year, None), f"wrong year {got_year!r}"
    assert got_kind in (kind, "其他"), f"wrong kind {got_kind!r}"


def test_at_least_95_percent_of_layouts_are_exact() -> None:
    exact = [_infer(cover) == (unit, year, kind) for cover, unit, year, kind in CASES]
    assert len(CASES) >= 30
    assert sum(exact) / len(exact) >= 0.95, [c[0][:30] for c, ok in zip(CASES, exact) if not ok]
