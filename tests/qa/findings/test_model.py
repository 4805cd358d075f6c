"""A stored finding put back together (qa.findings.model): finding-sentence rows in document order, grouped into
findings with their sentences' spans and categories. A stand-in categoriser, so no model."""

from __future__ import annotations

import random

import numpy as np

from ingest.pipeline import prepare
from ingest.readers import read_document
from qa.findings.model import Finding, group_rows, in_order
from qa.findings.taxonomy import Assignment
from tests.support.samples import S001


class Categorizer:
    """Two categories for every finding: "甲" carried by its last sentence, "乙" by its first."""

    def accepted(self, scores: np.ndarray) -> np.ndarray:
        return np.zeros(scores.shape, dtype=bool)

    def assign(self, scores: np.ndarray, accepted: np.ndarray) -> list[Assignment]:
        assert accepted.shape == scores.shape  # judged once for all rows, then sliced
        return [Assignment("甲", 0.9, len(scores) - 1), Assignment("乙", 0.5, 0)]


ROWS = prepare(read_document(S001), {}, chunk_size=300, chunk_overlap=0).finding_rows


def test_rows_are_put_in_document_order_with_their_vectors() -> None:
    shuffled = list(ROWS)
    random.Random(3).shuffle(shuffled)
    vectors = np.array([[float(ROWS.index(r))] for r in shuffled])
    rows, ordered = in_order(shuffled, vectors)
    assert [r.id for r in rows] == [r.id for r in ROWS] and ordered.ravel().tolist() == list(range(len(ROWS)))
    empty, none = in_order([], np.zeros((0, 3)))
    assert empty == [] and none.shape == (0, 3)


def test_rows_group_into_findings_with_spans_and_categories() -> None:
    findings = group_rows(ROWS, np.zeros((len(ROWS), 2)), Categorizer(), first_row=100)  # type: ignore[arg-type]
    assert len(ROWS) == 11 and len(findings) == 8
    assert [(f.finding_id[-4:], len(f.sentences), f.first_row) for f in findings[:4]] == [
        ("f000", 3, 100),  # three sentence rows, the first at row 100 of the larger matrix
        ("f001", 1, 103),
        ("f002", 2, 104),
        ("f003", 1, 106),
    ]
    first: Finding = findings[0]
    assert first.text.startswith("预算编制工作有待细化。预算编制不够明确和细化") and first.role == "problem"
    assert "".join(s.text for s in first.sentences) == first.text.replace("\n", "")
    assert first.category_names() == ["甲", "乙"]
    assert first.categories[0].sentence == first.sentences[-1] and first.categories[1].sentence == first.sentences[0]
    as_dict = first.as_dict()
    assert as_dict["finding_id"] == first.finding_id and as_dict["unit"] == "益阳市赫山区投资促进服务中心"
    assert as_dict["categories"][1] == {"name": "乙", "confidence": 0.5, "sentence": "预算编制工作有待细化。"}
    assert group_rows([], np.zeros((0, 2)), Categorizer()) == []  # type: ignore[arg-type]
