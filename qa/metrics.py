"""Retrieval and answer metrics as small pure functions (hand-checked in tests/qa/test_metrics.py).

Relevance is binary per retrieved item: a passage is a hit when it contains a gold quote (eval sets) or
its document is in the qrels (BEIR, graded gains for nDCG).

>>> mrr_at_k([False, True, False], 10)
0.5
>>> round(ndcg_at_k([1.0, 0.0, 1.0], [1.0, 1.0], 10), 4)
0.9197
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

_T = TypeVar("_T", bound=Hashable)


def mrr_at_k(relevant: Sequence[bool], k: int) -> float:
    for rank, rel in enumerate(relevant[:k], start=1):
        if rel:
            return 1.0 / rank
    return 0.0


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(gains: Sequence[float], ideal_gains: Sequence[float], k: int) -> float:
    """gains: of the retrieved list in order; ideal_gains: of every relevant item (any order)."""
    ideal = dcg(sorted(ideal_gains, reverse=True)[:k])
    return dcg(list(gains)[:k]) / ideal if ideal > 0 else 0.0


def recall_of_items(found_per_rank: Sequence[set[str]], gold: set[str], k: int) -> float:
    """Share of gold items (quotes, sources) found in the first k retrieved items."""
    if not gold:
        return 0.0
    seen: set[str] = set().union(*found_per_rank[:k]) if found_per_rank[:k] else set()
    return len(seen & gold) / len(gold)


def precision_recall_f1(predicted: set[_T], gold: set[_T]) -> tuple[float, float, float]:
    """Set P/R/F1; an empty prediction for an empty gold set is perfect (the honest answer was 'none')."""
    if not predicted and not gold:
        return 1.0, 1.0, 1.0
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample; 0.0 for an empty one."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def micro_prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Micro P/R/F1 from summed counts; a side with nothing to count is perfect (no false item, nothing missed).

    >>> micro_prf(8, 2, 0)
    (0.8, 1.0, 0.8889)
    """
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return round(p, 4), round(r, 4), round(f, 4)


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b|; two empty sets agree (1.0)."""
    return len(a & b) / len(a | b) if a | b else 1.0
