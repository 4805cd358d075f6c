"""Metric functions (qa.metrics) against hand-computed values."""

from __future__ import annotations

import math

import pytest

from qa.metrics import mrr_at_k, ndcg_at_k, percentile, precision_recall_f1, recall_of_items


def test_mrr() -> None:
    assert mrr_at_k([True, False], 10) == 1.0
    assert mrr_at_k([False, False, True], 10) == pytest.approx(1 / 3)
    assert mrr_at_k([False] * 10 + [True], 10) == 0.0  # beyond the cut-off
    assert mrr_at_k([], 10) == 0.0


def test_ndcg_by_hand() -> None:
    # retrieved gains 1,0,1; two relevant items exist: DCG = 1 + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3)
    assert ndcg_at_k([1, 0, 1], [1, 1], 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([1, 1], [1, 1], 10) == 1.0
    assert ndcg_at_k([0, 0], [1], 10) == 0.0
    assert ndcg_at_k([], [], 10) == 0.0  # nothing relevant exists: defined as 0, not a division error
    # graded gains: order matters
    assert ndcg_at_k([1, 2], [2, 1], 10) < 1.0


def test_recall_of_items_with_ties_and_empty() -> None:
    found = [{"q1"}, set(), {"q1", "q2"}]
    assert recall_of_items(found, {"q1", "q2", "q3"}, 1) == pytest.approx(1 / 3)
    assert recall_of_items(found, {"q1", "q2", "q3"}, 3) == pytest.approx(2 / 3)
    assert recall_of_items([], {"q1"}, 5) == 0.0
    assert recall_of_items(found, set(), 5) == 0.0


def test_precision_recall_f1() -> None:
    assert precision_recall_f1({"a", "b"}, {"a", "c"}) == (0.5, 0.5, 0.5)
    assert precision_recall_f1(set(), set()) == (1.0, 1.0, 1.0)  # honest "none"
    assert precision_recall_f1({"a"}, set()) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(set(), {"a"}) == (0.0, 0.0, 0.0)


def test_percentile_nearest_rank() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 95) == 0.0
