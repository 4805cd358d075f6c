"""Fusion of the BM25 and dense candidate lists into the hybrid ranking (issue 19, docs/evaluation.md).

Two methods, both O(candidates):

- `convex` (the default): each side's scores are standardised over its own candidate list (z-scores), then
  mixed as (1 - alpha) * bm25 + alpha * dense. Scores, not only ranks: a chunk that BM25 puts far ahead of the
  rest (a rare name matched exactly) keeps its lead, and a close call on one side is decided by the other.
  A candidate found by one side only gets the other side's lowest listed score (it ranked below all of them).
- `rrf`: weighted reciprocal rank fusion (`QA_FUSION=rrf`), kept to compare against.

`FusionParams` is what a library's self-tuning (qa/tuning.py) chooses and records with the store.

>>> convex([("a", 9.0), ("b", 3.0), ("c", 2.0)], [("b", 0.80), ("c", 0.79), ("a", 0.78)], 0.3)[0][0]
'a'
>>> rrf([["a", "b"], ["b", "c"]], k=60)[0][0]
'b'
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from chromadb.api.models.Collection import Collection

from qa.store import placeholder_vectors

Method = Literal["convex", "rrf"]
METHODS: tuple[Method, ...] = ("convex", "rrf")
Ranked = Sequence[tuple[str, float]]  # (id, score), best first


@dataclass(frozen=True)
class FusionParams:
    method: Method = "convex"
    alpha: float = 0.5  # convex: share of the dense side
    dense_weight: float = 0.5  # rrf: weight of the dense ranking (BM25 has 1)
    rrf_k: int = 60
    depth: int = 50  # candidates taken from each side

    def describe(self) -> str:
        if self.method == "convex":
            return f"convex alpha={self.alpha:g} depth={self.depth}"
        return f"rrf k={self.rrf_k} dense_weight={self.dense_weight:g} depth={self.depth}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionParams:
        """Unknown keys are ignored and missing ones take their defaults (a record written by another version)."""
        known = {f.name for f in fields(cls)}
        params = cls(**{k: v for k, v in data.items() if k in known})
        if params.method not in METHODS:
            raise ValueError(f"unknown fusion method {params.method!r}")
        return params


def rrf(rankings: Sequence[Sequence[str]], k: int, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: score(id) = Σ w_i / (k + rank_i), rank starting at 1; ties by id.

    >>> rrf([["a", "b"], ["b", "a"]], k=1, weights=[1.0, 0.3])[0][0]
    'a'
    """
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _standardised(ranked: Ranked) -> tuple[dict[str, float], float]:
    """z-scores of a candidate list, and the z-score of its lowest entry (for candidates it does not list)."""
    if not ranked:
        return {}, 0.0
    values = [s for _, s in ranked]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    scale = 1.0 / std if std > 1e-12 else 0.0
    z = {i: (s - mean) * scale for i, s in ranked}
    return z, (min(values) - mean) * scale


def convex(bm25: Ranked, dense: Ranked, alpha: float) -> list[tuple[str, float]]:
    """(1 - alpha) * z(BM25) + alpha * z(cosine) over the union of both lists, best first; ties by id."""
    zb, floor_b = _standardised(bm25)
    zd, floor_d = _standardised(dense)
    ids = dict.fromkeys([i for i, _ in bm25] + [i for i, _ in dense])
    scores = {i: (1.0 - alpha) * zb.get(i, floor_b) + alpha * zd.get(i, floor_d) for i in ids}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse(bm25: Ranked, dense: Ranked, params: FusionParams) -> list[tuple[str, float]]:
    """The hybrid ranking of two best-first candidate lists (each cut to `params.depth`)."""
    b, d = list(bm25)[: params.depth], list(dense)[: params.depth]
    if params.method == "rrf":
        return rrf([[i for i, _ in b], [i for i, _ in d]], params.rrf_k, [1.0, params.dense_weight])
    return convex(b, d, params.alpha)


# --- the choice recorded with the store ---------------------------------------------------------------------

RECORD_ID = "fusion"  # in the store's meta collection, next to the change token: every process on the store reads it


@dataclass(frozen=True)
class FusionRecord:
    """A library's self-tuning result (qa/tuning.py): the parameters it chose and what they were chosen on."""

    params: FusionParams
    embedder: str  # the chunk vectors' model: another model means tuning again
    chunks: int  # library size when tuned: a large change means tuning again
    at: float  # unix time
    queries: int  # pseudo-queries used
    mrr: dict[str, float]  # pseudo-query MRR@10 of the choice, the default, BM25 and dense alone
    curve: list[tuple[float, float]]  # (alpha, pseudo-query MRR@10)
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "params": self.params.as_dict()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FusionRecord:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["params"] = FusionParams.from_dict(data["params"])
        data["curve"] = [tuple(p) for p in data.get("curve", [])]
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        """What /readyz and `qa eval` show."""
        return {
            "source": "tuned" if self.mrr else "default (too few pseudo-queries)",
            **self.params.as_dict(),
            "tuned_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.at)),
            "tuned_chunks": self.chunks,
            "pseudo_queries": self.queries,
            "pseudo_mrr@10": {k: round(v, 4) for k, v in self.mrr.items()},
        }


def load_record(meta: Collection) -> FusionRecord | None:
    """The recorded choice, or None (never tuned, or a record this version cannot read: the defaults apply)."""
    try:
        page = meta.get(ids=[RECORD_ID], include=["documents"])
        if not page["ids"]:
            return None
        return FusionRecord.from_json((page["documents"] or [""])[0] or "")
    except (ValueError, KeyError, TypeError):
        return None


def save_record(meta: Collection, record: FusionRecord) -> None:
    meta.upsert(
        ids=[RECORD_ID],
        embeddings=placeholder_vectors(),
        documents=[record.to_json()],
        metadatas=[{"kind": "fusion", "at": record.at}],
    )


def delete_record(meta: Collection) -> None:
    meta.delete(ids=[RECORD_ID])
