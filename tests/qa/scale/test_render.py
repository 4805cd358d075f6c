"""One generated document as text (qa.scale.render): every planted sentence where a report puts it, the layout
recorded, the same seed giving the same document. Hand-made parts, no bank sampling."""

from __future__ import annotations

import random

import pytest

from qa.scale.bank import Common, load_common
from qa.scale.render import DocParts, Planted, render_document

UNIT = "湖南省某某县测试事务中心"
PROBLEMS = [
    Planted("problem", "budget_refine", "预算编制不够细化。"),
    Planted("problem", "talent", "专业技术人才缺乏。"),
]


@pytest.fixture(scope="module")
def common() -> Common:
    return load_common()


def parts(common: Common, kind: str, problems: list[Planted]) -> DocParts:
    unit_type = common.unit_types[0]
    return DocParts(
        unit=UNIT,
        short="测试事务中心",
        region_gov="某某市某某县",
        year=2022,
        kind=kind,
        project=unit_type.projects[0],
        unit_type=unit_type,
        problems=problems,
        other_problems=[],
        positives=[Planted("positive", "budget_refine", "预算编制科学合理，细化到具体项目。")],
        plans=[Planted("plan", "talent", "下一步将引进专业技术人才。")],
        surface=[],
        decoys=[],
        no_problem=None if problems else Planted("no_problem", "", "无。"),
        areas=common.areas,
    )


@pytest.mark.parametrize("kind", ["部门整体支出", "项目支出", "部门决算"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_planted_sentence_is_in_the_report(common: Common, kind: str, seed: int) -> None:
    doc = render_document(parts(common, kind, PROBLEMS), common, random.Random(seed))
    assert doc.title.startswith(UNIT) and "2022" in doc.title and doc.text.startswith(UNIT)
    assert sorted(p.category for p in doc.planted) == ["plan", "positive", "problem", "problem"]
    assert all(p.text.rstrip("。") in doc.text for p in doc.planted)
    assert doc.layout["scheme"] in ("cn", "cn_dot", "cn_arabic", "part") and "placement" in doc.layout
    if kind == "部门决算":
        assert (doc.layout["scheme"], doc.layout["placement"]) == ("part", "final_accounts")


def test_the_same_seed_gives_the_same_document(common: Common) -> None:
    a = render_document(parts(common, "项目支出", PROBLEMS), common, random.Random(7))
    b = render_document(parts(common, "项目支出", PROBLEMS), common, random.Random(7))
    c = render_document(parts(common, "项目支出", PROBLEMS), common, random.Random(8))
    assert (a.text, a.layout) == (b.text, b.layout) and a.text != c.text
    assert a.text.startswith(f"{UNIT}2022年度") and a.text.endswith("\n")


def test_a_distractor_states_no_problem(common: Common) -> None:
    doc = render_document(parts(common, "其他", []), common, random.Random(1))
    assert doc.layout["other"] and doc.title.startswith(UNIT)
    assert not [p for p in doc.planted if p.category == "problem"] and "预算编制不够细化" not in doc.text
