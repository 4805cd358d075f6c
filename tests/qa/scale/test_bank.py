"""The scale evaluation's phrasing bank (qa.scale.bank): both halves hold what the evaluation promises and share
nothing, described wordings avoid the canonical words, errors name the file. Without the model (fast)."""

from __future__ import annotations

import dataclasses
import re

import jieba
import pytest

from qa.scale.bank import MIN_DESCRIBED, MIN_TOPICS, Bank, load_bank
from qa.scale.harness import ROOT
from tests.support.scale import bank_sentences

_FUNCTION_WORDS = {"的", "了", "和", "与", "不", "未", "较", "有", "等", "是", "在"}


def test_both_halves_hold_what_the_evaluation_promises(banks: dict[str, Bank]) -> None:
    tuning, reporting = banks["tuning"], banks["reporting"]
    assert len(tuning.topics) >= MIN_TOPICS and [t.id for t in tuning.topics] == [t.id for t in reporting.topics]
    for t, r in zip(tuning.topics, reporting.topics):
        assert (t.canonical, t.canonical_question, t.neighbours) == (r.canonical, r.canonical_question, r.neighbours)
        assert len(t.wordings) + len(r.wordings) >= 8 and len(t.paraphrases) + len(r.paraphrases) >= 4
        described = [w for w in (*t.wordings, *r.wordings) if w.style == "described"]
        assert len(described) >= max(3, 2 * MIN_DESCRIBED)
        assert sum(w.style == "described" for w in t.wordings) == sum(w.style == "described" for w in r.wordings)
    assert min(len(tuning.nobody), len(reporting.nobody)) >= 3
    # Nothing of one half is in the other: the reporting half is never seen while tuning.
    assert not (bank_sentences(tuning) - {"无。"}) & bank_sentences(reporting)
    assert not {n.topic for n in tuning.nobody} & {n.topic for n in reporting.nobody}


def test_described_wordings_share_almost_no_word_with_the_canonical_phrase(banks: dict[str, Bank]) -> None:
    for bank in banks.values():
        for t in bank.topics:
            canonical = set(jieba.lcut(t.canonical)) - _FUNCTION_WORDS
            for w in t.wordings:
                if w.style == "described":
                    shared = canonical & set(jieba.lcut(w.text))
                    assert len(shared) <= 1, (t.id, shared)


def test_bank_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qa.scale.bank import BankError, bank_path

    source = bank_path("tuning").read_text(encoding="utf-8")
    (tmp_path / "bank_tuning.yaml").write_text(
        re.sub(r"paraphrases:\n(\s+- .*\n)+", "paraphrases: [只有一个？]\n", source, count=1), encoding="utf-8"
    )
    with pytest.raises(BankError, match=re.escape("bank_tuning.yaml")):
        load_bank("tuning", tmp_path)
    assert dataclasses.is_dataclass(load_bank("tuning"))


def test_no_reporting_sentence_is_already_in_the_project(banks: dict[str, Bank]) -> None:
    """The reporting half is unseen: none of its sentences is in the samples, the eval sets or the shipped taxonomy
    (which the answering mechanism reads and its tuning may extend)."""
    seen = "".join(
        p.read_text(encoding="utf-8")
        for p in [
            *(ROOT / "samples").glob("*.txt"),
            *(ROOT / "eval_sets").glob("*.jsonl"),
            ROOT / "qa" / "resources" / "finding_categories.yaml",
            ROOT / "eval_sets" / "scale" / "check_tuning.yaml",  # the second tuning set (scripts/scale_check.py)
            # the independent wording sets the taxonomy's session-17 examples come from
            *(ROOT / "eval_sets" / "scale").glob("independent_*.yaml"),
        ]
    )
    assert not [s for s in bank_sentences(banks["reporting"]) if len(s) > 6 and s.rstrip("。？") in seen]
