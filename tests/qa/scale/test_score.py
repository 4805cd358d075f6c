"""The scale evaluation's scoring (qa.scale.score) on a four-document library, against hand-computed values."""

from __future__ import annotations

from qa.scale.generate import LibraryDoc, Planted
from qa.scale.score import Asked, Cited, cause, overlaps, score


def _doc(
    file: str, unit: str, stated: tuple[str, ...], planted: tuple[Planted, ...], kind: str = "部门整体支出"
) -> LibraryDoc:
    return LibraryDoc(
        file,
        "t",
        unit,
        "湖南省",
        "长沙市",
        "芙蓉区",
        2021,
        kind,
        stated,
        planted,
        {},
        " ".join(p.text for p in planted),
    )


def test_scoring_by_hand() -> None:
    from qa.scale.generate import Library
    from qa.scale.questions import Question

    lib = Library("tuning", 1)
    lib.docs = [
        _doc("a.txt", "甲局", ("budget",), (Planted("problem", "budget", "年初安排资金时只定了大盘子。"),)),
        _doc("b.txt", "乙局", (), (Planted("positive", "budget", "预算编制科学合理，细化到具体项目。"),)),
        _doc("c.txt", "丙局", ("goals",), (Planted("problem", "goals", "绩效目标不够细化、量化。"),)),
        _doc("d.txt", "丁局", ("budget",), (Planted("problem", "budget", "预算编制不够细化。"),)),
    ]
    neighbours = {"budget": ("goals",)}
    qs = [
        Question("budget/canonical", "budget", "canonical", "q1", ("丁局", "甲局")),
        Question("budget/para-1", "budget", "paraphrase", "q2", ("丁局", "甲局")),
    ]
    asked = [
        Asked(
            "aggregate",
            ("丁局", "乙局"),
            (
                Cited("丁局", "d.txt", "预算编制不够细化。"),
                Cited("乙局", "b.txt", "预算编制科学合理，细化到具体项目。"),
            ),
            (),
            0.1,
        ),
        Asked(
            "aggregate",
            ("丁局", "甲局", "丙局"),
            (
                Cited("丁局", "d.txt", "预算编制不够细化。"),
                Cited("甲局", "a.txt", "年初安排资金时只定了大盘子。"),
                Cited("丙局", "c.txt", "绩效目标不够细化、量化。"),
            ),
            (Cited("乙局", "b.txt", "预算编制科学合理"),),
            0.3,
        ),
    ]
    result = score(qs, asked, lib, neighbours)
    overall = result["overall"]
    # tp 1 + 2, fp 1 + 1, fn 1 + 0
    assert (overall["unit_precision"], overall["unit_recall"]) == (0.6, 0.75)
    assert overall["jaccard_min"] == round(1 / 4, 4)  # {丁,乙} vs {丁,甲,丙}
    assert result["near_miss"]["positive"] == {"exposed": 2, "wrong": 1, "docs_wrong": 1}
    assert result["near_miss"]["neighbour"]["wrong"] == 1 and overall["near_miss_clean"] == 0.5
    assert overall["evidence_ok"] == 1.0 and overall["related_same_topic"] == 1.0
    assert cause(lib.docs[1], "budget", "预算编制科学合理，细化到具体项目。", neighbours) == "positive"
    assert overlaps("一是年初安排资金时只定了大盘子", "年初安排资金时只定了大盘子。") and not overlaps(
        "预算编制", "绩效目标不够细化"
    )
