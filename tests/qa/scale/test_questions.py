"""The scale evaluation's questions (qa.scale.questions): gold unit lists follow the generated ground truth."""

from __future__ import annotations

from qa.scale.bank import Bank
from qa.scale.questions import build_questions


def test_gold_lists_follow_the_ground_truth(banks: dict[str, Bank], libraries: dict) -> None:
    lib = libraries["tuning"]
    questions = build_questions(banks["tuning"], lib)
    by_id = {q.id: q for q in questions}
    for q in questions:
        if q.frame == "nobody":
            assert q.gold == ()
            continue
        canonical = set(by_id[f"{q.topic}/canonical"].gold)
        assert set(q.gold) <= canonical and (q.frame not in ("paraphrase", "count") or set(q.gold) == canonical)
        assert q.gold == tuple(sorted({d.unit for d in lib.docs if q.topic in d.stated and q.admits(d)}))
        if q.frame in ("year", "region"):
            assert q.gold and (str(q.year) in q.text if q.year else q.region in q.text)  # type: ignore[operator]
