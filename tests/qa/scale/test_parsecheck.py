"""Do generated documents parse as intended (qa.scale.parsecheck)? Inferred metadata against the truth, planted
problems found as problem findings and plans as measures, by layout: on two hand-written documents whose outcome is
known, and on a small generated library."""

from __future__ import annotations

from qa.scale.bank import Bank, load_common
from qa.scale.generate import Library, LibraryDoc, generate_library
from qa.scale.parsecheck import parse_check
from qa.scale.render import Planted
from qa.settings import Settings

HESHAN = "益阳市赫山区投资促进服务中心"
PARSED = (
    f"{HESHAN}2021年度部门整体支出绩效自评报告\n一、基本情况\n本单位负责招商引资。\n"
    "二、存在的问题\n1、预算编制不够细化。\n三、下一步改进措施\n1、下一步将细化预算编制。\n"
)
# The truth says 某某局 and a problem stated in passing in the basic facts: neither is what the text gives.
MISSED = "2021年度部门整体支出绩效自评报告\n一、基本情况\n本单位负责招商引资，专业技术人才缺乏。\n二、主要成效\n完成了全年任务。\n"


def doc(file: str, unit: str, planted: tuple[Planted, ...], layout: dict[str, str], text: str) -> LibraryDoc:
    stated = tuple(p.topic for p in planted if p.category == "problem")
    return LibraryDoc(
        file, "t", unit, "湖南省", "益阳市", "赫山区", 2021, "部门整体支出", stated, planted, layout, text
    )


def test_hand_written_documents_are_checked_field_by_field_and_by_layout() -> None:
    library = Library("tuning", 1)
    library.docs = [
        doc(
            "a.txt",
            HESHAN,
            (Planted("problem", "budget", "预算编制不够细化。"), Planted("plan", "budget", "下一步将细化预算编制。")),
            {"title": "unit_year", "placement": "section"},
            PARSED,
        ),
        doc(
            "b.txt",
            "某某局",
            (Planted("problem", "talent", "专业技术人才缺乏。"),),
            {"title": "year_unit", "placement": "conclusion"},
            MISSED,
        ),
    ]
    result = parse_check(library, Settings())
    assert result["metadata"]["unit"] == {"n": 2, "share": 0.5} and result["metadata"]["year"] == {"n": 2, "share": 1.0}
    assert result["metadata_failures_by_title"]["unit"] == {"year_unit": 1}
    assert result["problems_as_findings"] == {
        "all": {"n": 2, "share": 0.5},
        "placement=conclusion": {"n": 1, "share": 0.0},
        "placement=section": {"n": 1, "share": 1.0},
    }
    assert result["plans_as_measures"] == {"n": 1, "share": 1.0}
    assert result["near_misses_in_problem_findings"] == {}


def test_a_small_generated_library_parses_as_intended(banks: dict[str, Bank]) -> None:
    library = generate_library(banks["tuning"], load_common(), 20, 5)
    result = parse_check(library, Settings())
    planted = [p.category for d in library.docs for p in d.planted]
    assert result["problems_as_findings"]["all"] == {"n": planted.count("problem"), "share": 1.0}
    assert result["plans_as_measures"]["n"] == planted.count("plan") and result["plans_as_measures"]["share"] > 0.8
    assert {k: v["n"] for k, v in result["metadata"].items()} == dict.fromkeys(("unit", "year", "kind", "region"), 20)
    assert result["metadata"]["year"]["share"] == 1.0
    assert not any(result["near_misses_in_problem_findings"].values())  # no near miss taken for a problem
