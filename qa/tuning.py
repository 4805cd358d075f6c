"""Self-tuning of the hybrid fusion per library, without labelled questions (issue 19, docs/evaluation.md).

The library supplies its own training signal: pseudo-queries. A sampled chunk's first sentence (a heading line
counts) is the query and the chunk is its answer, with that sentence cut out of everything the chunk is
indexed and embedded as (its text, and the title or section path that would otherwise repeat it): otherwise the
query would be an exact-match giveaway for BM25. Both retrievers run on each pseudo-query as they run on real
ones, the answer's own scores are replaced by those of the cut passage (BM25 with the index's statistics,
cosine with a fresh passage vector), and the fusion parameters that rank the answers best are chosen.

A pseudo-query is kept only when, with its sentence still in place, BM25 puts its chunk first by a margin: a
sentence repeated in other chunks (boilerplate, a heading every report has) cannot say which chunk is meant.
"""

from __future__ import annotations

import os
import random
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection

from ingest.schema import ChunkRow
from ingest.text import is_table_row, sentence_spans
from qa.fusion import FusionParams, FusionRecord, fuse, load_record, save_record
from qa.lexical import LexicalIndex, tokenize, words
from qa.metrics import mean, mrr_at_k
from qa.retrieve import Retriever, row_index_text
from qa.store import placeholder_vectors

_QUERY_CHARS = (6, 60)  # a pseudo-query's length, as questions go
_REST_CHARS = 20  # what must be left of the chunk once the query is cut out
_UNIQUE_MARGIN = 1.05  # the intact chunk's BM25 score over the next chunk's
_END = "。；;！!？?：:，,、 \t"
_NOT_WORD = re.compile(r"^[\W_]+$")


@dataclass(frozen=True)
class PseudoQuery:
    text: str
    target: str  # chunk id
    passage: str  # the chunk's index text with the query cut out


@dataclass(frozen=True)
class Sample:
    """One query's candidates on both sides, best first, and the ids that answer it."""

    bm25: list[tuple[str, float]]
    dense: list[tuple[str, float]]
    relevant: frozenset[str]


def question_sentences(text: str) -> list[str]:
    """The sentences of a question's length (not table rows), in text order, that leave enough of the text when cut out."""
    out = []
    for start, end in sentence_spans(text):
        sentence = text[start:end].strip().rstrip(_END)
        if is_table_row(text[start:end]):
            continue  # a table row is no question
        if (
            _QUERY_CHARS[0] <= len(sentence) <= _QUERY_CHARS[1]
            and len(tokenize(sentence)) >= 2
            and len(text) - len(sentence) >= _REST_CHARS
        ):
            out.append(sentence)
    return out


def thinned(sentence: str, keep: float, rng: random.Random) -> str:
    """The sentence with each word kept with probability `keep` (0: nothing left), punctuation as is."""
    if keep <= 0:
        return ""
    return "".join(w for w in words(sentence) if _NOT_WORD.match(w) or rng.random() < keep)


def pseudo_queries(
    rows: Sequence[ChunkRow], index_text: Callable[[ChunkRow], str], limit: int, keep: float = 0.0, seed: int = 19
) -> list[PseudoQuery]:
    """At most `limit` pseudo-queries: each row's first question-sized sentence, then (a small library) each row's
    second one, and so on. In the passage every copy of the sentence keeps a share `keep` of its words."""
    found = [question_sentences(r.text) for r in rows]
    rng = random.Random(seed)
    out: list[PseudoQuery] = []
    for ordinal in range(max((len(f) for f in found), default=0)):
        for row, sentences in zip(rows, found):
            if ordinal < len(sentences):
                query = sentences[ordinal]
                out.append(PseudoQuery(query, row.id, index_text(row).replace(query, thinned(query, keep, rng))))
                if len(out) >= limit:
                    return out
    return out


def sample_ids(ids: Sequence[str], n: int, seed: int = 19) -> list[str]:
    return random.Random(seed).sample(list(ids), min(n, len(ids)))


def _with_target(ranked: list[tuple[str, float]], target: str, score: float, depth: int) -> list[tuple[str, float]]:
    """The list with the target's score replaced (it drops out when it falls below the list's end)."""
    rest = [(i, s) for i, s in ranked if i != target]
    if len(rest) >= depth and score <= rest[depth - 1][1]:
        return rest[:depth]
    return sorted([*rest, (target, score)], key=lambda kv: -kv[1])[:depth]


_SLICE = 8  # texts per model call in a tuning run, then a pause: searches waiting for the model get it between calls
_PAUSE = 0.002  # (a lock is not fair; the same reasoning as the background sentence pass, qa/answer.py)


def _in_slices(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), _SLICE):
        parts.append(encode(texts[i : i + _SLICE]))
        time.sleep(_PAUSE)
    return np.concatenate(parts)


def collect(
    queries: Sequence[PseudoQuery],
    index: LexicalIndex,
    encode_queries: Callable[[list[str]], np.ndarray],
    encode_passages: Callable[[list[str]], np.ndarray],
    dense_search: Callable[[np.ndarray, int], list[tuple[str, float]]],
    depth: int,
    limit: int,
    phrase_weight: float = 0.0,
) -> list[Sample]:
    """Both sides' candidates for up to `limit` pseudo-queries, each target scored as its cut passage. BM25 first
    (cheap), which also drops the pseudo-queries whose intact target is not its clear first; only the kept ones
    are embedded."""
    kept: list[tuple[PseudoQuery, list[tuple[str, float]]]] = []
    rows = index.rows_of([q.target for q in queries])
    for q, row in zip(queries, rows):
        scores = index.scores(q.text, phrase_weight=phrase_weight)
        if scores is None or row < 0:
            continue
        top = np.argpartition(-scores, min(depth, len(scores) - 1))[: depth + 1]
        top = top[np.argsort(-scores[top], kind="stable")]
        others = [float(scores[r]) for r in top if r != row]
        if others and scores[row] < _UNIQUE_MARGIN * others[0]:
            continue
        bm25 = _with_target(
            [(index.ids[r], float(scores[r])) for r in top],
            q.target,
            index.score_text(q.text, q.passage, phrase_weight),
            depth,
        )
        kept.append((q, [(i, s) for i, s in bm25 if s > 0]))
        if len(kept) >= limit:
            break
    if not kept:
        return []
    query_vectors = _in_slices(encode_queries, [q.text for q, _ in kept])
    passage_vectors = _in_slices(encode_passages, [q.passage for q, _ in kept])
    samples = []
    for (q, bm25), qv, pv in zip(kept, query_vectors, passage_vectors):
        dense = _with_target(dense_search(qv, depth + 1), q.target, float(np.dot(qv, pv)), depth)
        samples.append(Sample(bm25, dense, frozenset([q.target])))
    return samples


def pseudo_samples(retriever: Retriever, limit: int, depth: int, seed: int = 19, keep: float = 0.0) -> list[Sample]:
    """`limit` pseudo-queries of the retriever's library with both sides' candidates (`depth` each)."""
    index = retriever.lexical()
    rows = retriever.store.get_chunks(sample_ids(index.ids, 4 * limit, seed))
    queries = pseudo_queries(rows, row_index_text, 4 * limit, keep, seed)
    embedder = retriever.embedder
    dense = lambda v, k: retriever.store.query_ids(v, k, None)  # noqa: E731
    return collect(
        queries, index, embedder.encode_queries, embedder.encode, dense, depth, limit, retriever.settings.phrase_weight
    )


def reciprocal_ranks(samples: Sequence[Sample], params: FusionParams) -> np.ndarray:
    return np.array([mrr_at_k([i in s.relevant for i, _ in fuse(s.bm25, s.dense, params)[:10]], 10) for s in samples])


def side_mrr(samples: Sequence[Sample], side: str) -> float:
    return mean(
        [mrr_at_k([i in s.relevant for i, _ in (s.bm25 if side == "bm25" else s.dense)[:10]], 10) for s in samples]
    )


ALPHAS = tuple(round(a * 0.05, 2) for a in range(21))


def choose_alpha(
    samples: Sequence[Sample], base: FusionParams, prior: float, alphas: Sequence[float] = ALPHAS
) -> tuple[float, list[tuple[float, float]]]:
    """(chosen alpha, the pseudo-query MRR@10 curve). Pseudo-queries are a proxy for questions, and a biased one
    (docs/evaluation.md: they prefer the dense side on CMRC, whose questions copy the text's words), so the choice
    stays at the prior unless the library clearly disagrees: among the alphas not distinguishable from the best
    one (paired difference within two standard errors), the one closest to the prior."""
    rr = {a: reciprocal_ranks(samples, replace(base, method="convex", alpha=a)) for a in alphas}
    points = [(a, float(v.mean())) for a, v in rr.items()]
    best = max(alphas, key=lambda a: (rr[a].mean(), -abs(a - prior)))

    def admissible(a: float) -> bool:
        diff = rr[best] - rr[a]
        return bool(diff.mean() <= 2 * diff.std() / np.sqrt(len(diff)))

    chosen = min((a for a in alphas if admissible(a)), key=lambda a: (abs(a - prior), -rr[a].mean()))
    return chosen, points


# --- a tuning run and its record --------------------------------------------------------------------------------

_MIN_SAMPLES = 30  # fewer pseudo-queries than this say too little: the defaults stay
_CHANGE = 0.2  # re-tune when the library grew or shrank by more than this share since its last tuning


def due(retriever: Retriever) -> bool:
    """Whether the library should tune (again): never tuned for these vectors, or changed substantially since."""
    record = load_record(retriever.store.meta)
    chunks = retriever.store.count_chunks()
    if chunks == 0:
        return False
    return (
        record is None
        or record.embedder != retriever.store.embedder_id
        or abs(chunks - record.chunks) > _CHANGE * max(record.chunks, 1)
    )


_CLAIM_ID = "fusion-claim"
_CLAIM_TTL = 900.0  # a claim older than this belongs to a process that died while tuning


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(meta: Collection) -> bool:
    """Take the store's tuning claim unless another process holds a fresh one (API replicas on one Chroma server
    would otherwise all tune at once after a large ingest). Not a lock: two processes racing here may both tune,
    and the later record wins, which is harmless."""
    page = meta.get(ids=[_CLAIM_ID], include=["metadatas"])
    if page["ids"]:
        m: Mapping[str, Any] = (page["metadatas"] or [{}])[0] or {}  # the claim below wrote it: "at" is a float
        if m.get("by") != _me() and time.time() - float(m.get("at", 0.0)) < _CLAIM_TTL:
            return False
    meta.upsert(
        ids=[_CLAIM_ID],
        embeddings=placeholder_vectors(),
        metadatas=[{"kind": "fusion-claim", "by": _me(), "at": time.time()}],
    )
    return True


def release(meta: Collection) -> None:
    meta.delete(ids=[_CLAIM_ID])


def tune(retriever: Retriever, limit: int | None = None, seed: int = 19) -> FusionRecord:
    """Draw pseudo-queries from the library, choose the fusion weight on them, record the choice with the store
    (every process on it reads the record) and use it in this process at once."""
    started = time.perf_counter()
    settings = retriever.settings
    base = replace(retriever.default_fusion(), method="convex")
    samples = pseudo_samples(retriever, limit or settings.fusion_tuning_queries, settings.candidate_k, seed)
    chunks = retriever.store.count_chunks()
    points: list[tuple[float, float]]
    if len(samples) < _MIN_SAMPLES:
        params, points, mrrs = retriever.default_fusion(), [], {}
    else:
        alpha, points = choose_alpha(samples, base, settings.fusion_alpha)
        params = replace(base, alpha=alpha)
        mrrs = {
            "chosen": float(reciprocal_ranks(samples, params).mean()),
            "default": float(reciprocal_ranks(samples, retriever.default_fusion()).mean()),
            "bm25": side_mrr(samples, "bm25"),
            "dense": side_mrr(samples, "dense"),
        }
    record = FusionRecord(
        params,
        retriever.store.embedder_id,
        chunks,
        time.time(),
        len(samples),
        mrrs,
        points,
        round(time.perf_counter() - started, 1),
    )
    save_record(retriever.store.meta, record)
    retriever.use_fusion(record)
    return record
