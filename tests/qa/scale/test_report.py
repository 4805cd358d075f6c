"""The scale evaluation's report (qa.scale.report): the reporting half's results name questions by id only."""

from __future__ import annotations

from qa.scale.bank import Bank
from qa.scale.generate import DEFAULT_DOCS
from qa.scale.questions import build_questions
from qa.scale.report import flat, markdown
from qa.scale.score import Asked, score
from tests.support.scale import bank_sentences


def test_reporting_results_carry_no_bank_text(banks: dict[str, Bank], libraries: dict) -> None:
    """The markdown and JSON of the reporting half name questions by id only."""
    lib = libraries["reporting"]
    qs = build_questions(banks["reporting"], lib)
    asked = [Asked("aggregate", (), (), (), 0.01) for _ in qs]
    scored = score(qs, asked, lib, {t.id: t.neighbours for t in banks["reporting"].topics})
    results = {
        "split": "reporting",
        "docs": DEFAULT_DOCS,
        "seed": 18,
        "generator_version": "1",
        "questions": len(qs),
        "chunks": 0,
        "library": {"reports": 1, "units": 1, "units_with_several_reports": 0, "other_documents": 0},
        "scale": scored["overall"],
        "by_frame": scored["by_frame"],
        "by_topic": scored["by_topic"],
        "near_miss": scored["near_miss"],
        "parse": {"metadata": {}, "problems_as_findings": {}},
        "rows": scored["rows"],
        "timing": {"total_s": 0, "cache_hit": True, "generate_s": 0, "ingest_s": 0, "sentences_s": 0, "questions_s": 0},
    }
    text = markdown(results) + repr(results)
    leaked = [
        s for s in bank_sentences(banks["reporting"]) - {"无。", "暂无。"} if s in text or s.rstrip("。？") in text
    ]
    assert not leaked
    assert flat(results)["scale.unit_recall"] == 0.0 and "scale.topic.budget_refine.unit_f1" in flat(results)
