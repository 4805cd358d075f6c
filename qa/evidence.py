"""Sentence-level evidence: which sentences of the retrieved chunks actually say what was asked.

A sentence's score mixes meaning and wording: cosine similarity of its embedding to the topic (carries
paraphrases such as 预算做得比较粗 → 预算编制不够细化) plus a weighted share of the topic's jieba tokens it
contains (separates 预算编制不够细化 from the near miss 绩效目标不够细化, which dense similarity alone
rates close). Weights and thresholds live in `EvidenceParams` and are tuned on the dev eval set.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from ingest.chunking import sentence_spans
from qa.embeddings import Embedder
from qa.lexical import LexicalIndex, tokenize
from qa.retrieve import Hit

_PROBLEM_CUE = re.compile(r"不够|不足|缺乏|缺少|未|没有|有待|不规范|不到位|偏差|滞后|薄弱|不完善|不健全|不全|问题|困难|粗|差|低")
_MEASURE_CUE = re.compile(r"建议|措施|改进|整改|下一步|加强|提高|完善|规范|强化|细化|优化")


@dataclass(frozen=True)
class EvidenceParams:
    """Chosen on eval_sets/dev.jsonl by scripts/tune.py (grid in docs/evaluation.md)."""

    # Weight of token coverage next to cosine similarity. Aggregates need wording to separate near misses
    # (绩效目标不够细化 vs 预算编制不够细化); lookups need meaning more (the question is not the answer).
    aggregate_lexical_weight: float = 0.3
    lookup_lexical_weight: float = 0.3
    role_bonus: float = 0.0  # for sentences from the section role the topic implies (tuned: no gain)
    aggregate_threshold: float = 0.8  # absolute floor for a unit to count in an aggregate answer
    aggregate_margin: float = 0.25  # …and within this of the best unit's score
    related_threshold: float = 0.75  # below the floor but above this: shown as related, never counted
    lookup_threshold: float = 0.7  # below this a lookup is declined as unanswerable
    number_bonus: float = 0.0  # lookups asking 多少/金额: bonus for sentences with a number (tuned: no gain)
    # Aggregate recall: each document's best chunks by BM25 and by dense similarity (Retriever.doc_candidates).
    aggregate_chunks_per_doc: int = 2  # dev: same unit F1 (0.860) as every chunk; 1 loses recall
    # The corpus-wide aggregate pass embeds a sentence sharing no token with the topic only if its chunk is among
    # this many nearest the topic by meaning (缺乏懂法律的、懂财经的…专业人才 for 身边缺少懂行的人: nearest chunk);
    # elsewhere such sentences were never evidence on dev or test, only junk near misses (ranks 7-20 on the
    # samples), and embedding them was most of the question's time (100k chunks: 16,720 sentences → 2,888).
    aggregate_meaning_chunks: int = 5


@dataclass(frozen=True)
class Sentence:
    hit: Hit  # the chunk it comes from (for metadata)
    text: str
    char_start: int
    char_end: int
    score: float
    # The parts of the score, kept so thresholds can be tuned without re-embedding (scripts/tune.py).
    similarity: float = 0.0
    coverage: float = 0.0
    in_role: bool = False
    has_number: bool = False

    @property
    def doc_id(self) -> str:
        return self.hit.doc_id


def topic_role(topic: str) -> str | None:
    """The section role a topic belongs to: 不够细化 is a problem, 加强监管 a measure."""
    if _MEASURE_CUE.search(topic) and not _PROBLEM_CUE.search(topic):
        return "measures"
    if _PROBLEM_CUE.search(topic):
        return "problems"
    return None


class Coverage:
    """Share of the topic's information a sentence repeats: matched tokens weighted by idf, so a generic word
    (程序, 工作) counts for little and a specific one (专账核算, 细化) for much. The topic's weights are looked
    up once; a sentence comes as text or as its token set (findings keep theirs, tokenised once per process)."""

    def __init__(self, topic_tokens: set[str], idf: Callable[[str], float]) -> None:
        self._weights = {t: idf(t) for t in topic_tokens}
        self._total = sum(self._weights.values())

    def of_tokens(self, tokens: AbstractSet[str]) -> float:
        if self._total <= 0:
            return 0.0
        return sum(w for t, w in self._weights.items() if t in tokens) / self._total

    def __call__(self, sentence: str) -> float:
        # A token is a substring of its text, so a sentence containing none of the topic's tokens as text has
        # coverage 0 without running jieba (most sentences of an aggregate's candidate chunks: 2 s at 100k).
        low = sentence.lower()
        if not any(t in low for t in self._weights):
            return 0.0
        return self.of_tokens(set(tokenize(sentence)))

    def of_postings(self, postings: Mapping[str, np.ndarray], n_rows: int) -> np.ndarray:
        """The coverage of every row at once, from the rows each token occurs in (row token sets, inverted)."""
        cov = np.zeros(n_rows, dtype=np.float64)
        if self._total <= 0:
            return cov
        for t, w in self._weights.items():
            if t in postings:
                cov[postings[t]] += w
        return cov / self._total


_SLICE = 256


class SentenceVectors:
    """In-process cache of sentence embeddings: aggregate questions revisit the same sentences."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            # In slices: a search arriving during a large aggregate waits for one slice of the shared query model,
            # not for thousands of sentences.
            vectors = np.concatenate([self._embedder.encode_queries(missing[i : i + _SLICE]) for i in range(0, len(missing), _SLICE)])
            found.update(zip(missing, vectors))
            with self._lock:
                self._cache.update(zip(missing, vectors))
                while len(self._cache) > self._capacity:  # oldest first out; a plain FIFO is enough here
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


def split_hits(hits: Iterable[Hit], min_chars: int = 6) -> list[tuple[Hit, int, int, str]]:
    """(hit, start, end, text) for each distinct sentence of the hits, in document offsets; bare headings
    ("七、存在的问题及原因分析") are not evidence."""
    seen: set[tuple[str, int]] = set()
    out: list[tuple[Hit, int, int, str]] = []
    for hit in hits:
        heading_lines = {p.strip() for p in hit.section.split(" > ")}
        for s, e in sentence_spans(hit.text):
            text = hit.text[s:e].strip()
            key = (hit.doc_id, hit.char_start + s)
            if len(text) < min_chars or text in heading_lines or key in seen:
                continue
            seen.add(key)
            out.append((hit, hit.char_start + s, hit.char_start + e, hit.text[s:e]))
    return out


def score_sentences(
    topic: str,
    topic_vec: np.ndarray,
    hits: Iterable[Hit],
    vectors: SentenceVectors,
    params: EvidenceParams,
    lexical: LexicalIndex,
    *,
    lexical_weight: float,
    prefer_role: str | None = None,
    wants_number: bool = False,
    ignore_tokens: Iterable[str] = (),
    unrelated_only_from: AbstractSet[str] | None = None,
) -> list[Sentence]:
    """Every sentence of the hits with its evidence score, best first. `unrelated_only_from`: chunk ids; when
    given, a sentence sharing no token with the topic is scored only if its chunk is one of them."""
    parts = split_hits(hits)
    coverage = Coverage(set(tokenize(topic)) - set(ignore_tokens), lexical.idf)
    by_text = {text: coverage(text) for text in {p[3] for p in parts}}  # boilerplate sentences recur across reports
    covs = [by_text[p[3]] for p in parts]
    if unrelated_only_from is not None:
        kept = [i for i, c in enumerate(covs) if c > 0 or parts[i][0].id in unrelated_only_from]
        parts, covs = [parts[i] for i in kept], [covs[i] for i in kept]
    if not parts:
        return []
    sims = vectors.get([p[3] for p in parts]) @ topic_vec
    scored: list[Sentence] = []
    for (hit, start, end, text), sim, cov in zip(parts, sims, covs):
        in_role = bool(prefer_role) and hit.section_role == prefer_role
        has_number = wants_number and bool(re.search(r"\d", text))
        score = combine(float(sim), cov, in_role, has_number, lexical_weight, params)
        scored.append(Sentence(hit, text, start, end, round(score, 4), float(sim), cov, in_role, has_number))
    return sorted(scored, key=lambda s: (-s.score, s.doc_id, s.char_start))


def combine(similarity: float, cov: float, in_role: bool, has_number: bool, lexical_weight: float, params: EvidenceParams) -> float:
    return similarity + lexical_weight * cov + params.role_bonus * in_role + params.number_bonus * has_number
