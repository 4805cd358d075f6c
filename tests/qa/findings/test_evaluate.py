"""`qa findings eval` (qa.findings.evaluate) on the bundled samples against the hand labels in
eval_sets/findings.jsonl: extraction boundaries exact, category assignment above its floors."""

from __future__ import annotations

import pytest

from qa.embeddings import Embedder
from qa.findings import load_taxonomy
from qa.findings.evaluate import evaluate_findings, extract_corpus, load_labels
from qa.findings.taxonomy import Categorizer
from tests.conftest import ROOT, SAMPLES

LABELS = ROOT / "eval_sets" / "findings.jsonl"


@pytest.fixture(scope="module")
def labelled(embedder: Embedder) -> dict:  # type: ignore[type-arg]
    categorizer = Categorizer(load_taxonomy(), embedder)
    return evaluate_findings(load_labels(LABELS), extract_corpus([SAMPLES], embedder, categorizer))


def test_extraction_matches_every_hand_labelled_boundary(labelled: dict) -> None:  # type: ignore[type-arg]
    assert labelled["labels"] == 32 and labelled["missing"] == []
    assert labelled["extraction"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_category_assignment_precision_recall_floor(labelled: dict) -> None:  # type: ignore[type-arg]
    # Measured 0.692 / 0.600 with taxonomy v2 (docs/findings.md: one main concept per sentence, a second only
    # when both are strong, so measures labelled with three or four areas lose the weaker ones); floors below.
    c = labelled["categories"]
    assert c["precision"] >= 0.65 and c["recall"] >= 0.55, c
    per = labelled["per_category"]
    for name in ("项目资金未实行专账核算", "专业人才缺乏", "项目前期工作不足"):
        assert per[name]["recall"] == 1.0, (name, per[name])
