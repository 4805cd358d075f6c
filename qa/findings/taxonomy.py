"""The categories findings are sorted into: a YAML taxonomy (shipped default or the user's own via QA_TAXONOMY)
and the classifier that assigns them.

The categories are the concepts answers are built on: "哪些单位提到预算编制不够细化？" lists the documents whose
problem findings state the concept 预算编制不够细化, and "哪些单位的预算做得太粗？" maps onto the same concept,
so both wordings give one list. A sentence's score for a category is

    cosine(sentence, closest of the category's name, description and examples)
        + head_weight · P(category | sentence)          (the concept head: a softmax regression over all examples)
        + keyword_weight · (matching keywords, at most keyword_hits)

and it states the category that scores best for it (the fallback 其他 competes with its own examples) when that
score is high enough and clearly ahead of the runner-up (`Categorizer.accepted`). So a paraphrase with no
keyword (预算做得比较粗) reaches a category through meaning, a keyword alone does not decide it, a problem of no
concept is not forced into the nearest one, and a finding of several sentences collects the categories of each.
A finding that states no concept is 其他. The sentence vectors are the ones computed at ingest; only the
taxonomy's own texts are embedded here (once per process), so a new taxonomy needs no re-ingest.

>>> t = Taxonomy.parse({"categories": [{"name": "专业人才缺乏", "description": "缺乏专业人才", "keywords": ["人才"]}]})
>>> [c.name for c in t.categories], t.fallback
(['专业人才缺乏', '其他'], '其他')
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

FALLBACK = "其他"
DEFAULT_TAXONOMY = "finding_categories.yaml"


class TaxonomyError(ValueError):
    """The taxonomy file is missing or malformed; the message (Chinese) names the file and the problem."""


class Encoder(Protocol):
    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    examples: tuple[str, ...]
    keywords: tuple[re.Pattern[str], ...]

    @cached_property
    def any_keyword(self) -> re.Pattern[str] | None:
        """One pattern matching where any keyword does: most sentences match none of a category's keywords, and
        one search instead of one per keyword is what makes scoring a whole library's finding rows affordable
        (FindingsIndex's first build). None when the keywords cannot be joined (a global inline flag)."""
        try:
            return re.compile("|".join(f"(?:{k.pattern})" for k in self.keywords)) if self.keywords else None
        except re.error:
            return None

    def keyword_hits(self, text: str, cap: int) -> int:
        """How many of its keywords `text` matches, counted up to `cap`."""
        joined = self.any_keyword
        if joined is not None and not joined.search(text):
            return 0
        return min(cap, sum(1 for k in self.keywords if k.search(text)))

    @cached_property
    def text(self) -> str:
        """Its prototype texts joined: what a question's key words are looked up in (`topic_concept`)."""
        return "|".join(self.prototypes())

    def prototypes(self) -> list[str]:
        """The texts its score compares with. The fallback's own name and description describe nothing; its
        examples (problems of no concept) are what a sentence of no concept resembles."""
        texts = self.examples if self.name == FALLBACK else (self.name, self.description, *self.examples)
        return [t for t in texts if t.strip()]


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]  # the fallback (其他) last
    source: str  # file it came from, for messages
    digest: str  # content hash: prototype vectors are cached per taxonomy

    @property
    def fallback(self) -> str:
        return FALLBACK

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.categories]

    @classmethod
    def parse(cls, data: Any, source: str = "<内置>") -> Taxonomy:
        if not isinstance(data, dict) or not isinstance(data.get("categories"), list) or not data["categories"]:
            raise TaxonomyError(f"分类文件 {source} 格式不正确：需要非空的 categories 列表")
        categories: list[Category] = []
        for n, item in enumerate(data["categories"], 1):
            if not isinstance(item, dict) or not str(item.get("name") or "").strip():
                raise TaxonomyError(f"分类文件 {source} 第 {n} 个分类缺少 name")
            name = str(item["name"]).strip()
            if name in {c.name for c in categories}:
                raise TaxonomyError(f"分类文件 {source} 中分类“{name}”重复")
            keywords = []
            for k in item.get("keywords") or []:
                try:
                    keywords.append(re.compile(str(k)))
                except re.error as exc:
                    raise TaxonomyError(
                        f"分类文件 {source} 中分类“{name}”的关键词 {k!r} 不是合法的正则表达式：{exc}"
                    ) from exc
            examples = tuple(str(e) for e in item.get("examples") or [] if str(e).strip())
            categories.append(Category(name, str(item.get("description") or ""), examples, tuple(keywords)))
        others = [c for c in categories if c.name == FALLBACK] or [Category(FALLBACK, "不属于以上任何一类", (), ())]
        ordered = tuple([c for c in categories if c.name != FALLBACK] + others[:1])
        digest = hashlib.sha1(
            repr([(c.name, c.prototypes(), [k.pattern for k in c.keywords]) for c in ordered]).encode()
        ).hexdigest()[:12]
        return cls(ordered, source, digest)


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The user's taxonomy at `path` (QA_TAXONOMY), else the one shipped in qa/resources."""
    if path is None:
        text = (files("qa") / "resources" / DEFAULT_TAXONOMY).read_text(encoding="utf-8")
        source = DEFAULT_TAXONOMY
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxonomyError(f"无法读取分类文件 {path}：{exc.strerror or exc}") from exc
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"分类文件 {source} 不是合法的 YAML：{exc}") from exc
    return Taxonomy.parse(data, source)


@dataclass(frozen=True)
class CategoryParams:
    """Chosen on the tuning half of the scale evaluation's phrasing bank and the samples' hand labels
    (docs/findings.md, docs/evaluation.md)."""

    keyword_weight: float = 0.05  # added per matching keyword of a category …
    keyword_hits: int = 2  # … for at most this many of them
    # A sentence states the concept that scores best for it (其他 included: its examples are problems of no
    # concept) when that score reaches `threshold` and leads the runner-up by `margin`; a second concept of the
    # same sentence ("缺乏专职专业管理人员，…缺乏细化目标") needs `second_threshold`.
    threshold: float = 0.78
    margin: float = 0.02
    second_threshold: float = 0.94
    # Below the threshold by at most this, a sentence whose best concept is the asked one is a near miss.
    related_gap: float = 0.05
    # …and counts after all when its report states the concept in the other role (a problem backed by a measure) and
    # the concept is its best or within this of its best (qa.findings.evidence.concept_verdict); negative: never.
    paired_margin: float = 0.01
    # A question's topic is mapped onto a concept under the same rule with these values.
    topic_threshold: float = 0.84
    topic_margin: float = 0.02
    # Below `topic_sure`, the concept head must also give the concept at least `topic_min_probability`: a question
    # about a subject no concept covers ("维修资金归集不上来", 0.85) can land just over the threshold through one
    # concept's nearest example (资金花不出去) while the head, which weighs all of its examples, stays unconvinced (0.17;
    # a paraphrase: mostly 0.6–0.9). Two weak signals do not make a mapping; a close example alone does ("一般性支出没压下来",
    # 0.95, probability 0.10: 三公经费 has many examples of other wordings).
    topic_sure: float = 0.9
    topic_min_probability: float = 0.2
    # The concept head: a softmax regression over the prototype vectors (`ConceptHead`) adds
    # `head_weight` × its probability to each category's score. The nearest example alone judges a sentence by
    # one neighbour; the head weighs all of a concept's examples against every other concept's, which is what
    # carries a problem described in words no example uses. `head_c`: its inverse L2 strength.
    head_weight: float = 0.05
    head_c: float = 16.0


@dataclass(frozen=True)
class Assignment:
    name: str
    confidence: float  # 0–1: how far above the threshold the score is, relative to a keyword-backed exact match
    sentence: int  # index of the finding's sentence that carries it (its cited sentence)


class Categorizer:
    """Scores sentence vectors against a taxonomy; prototype vectors are embedded once per taxonomy.

    Scores are a matrix over every category, the fallback (其他) last: the best cosine to a category's name,
    description and examples plus `keyword_weight` per matching keyword. `accepted` turns a score matrix into
    each sentence's concepts; findings, questions and aggregate answers all go through it, so a question and the
    sentences that answer it are judged by one rule."""

    def __init__(self, taxonomy: Taxonomy, encoder: Encoder, params: CategoryParams | None = None) -> None:
        self.taxonomy = taxonomy
        self.params = params or CategoryParams()
        self._encoder = encoder
        self._lock = threading.Lock()
        self._prototypes: tuple[np.ndarray, np.ndarray] | None = None  # vectors, category index per vector
        self._head: ConceptHead | None = None

    @property
    def categories(self) -> tuple[Category, ...]:
        return self.taxonomy.categories

    @property
    def fallback_index(self) -> int:
        return len(self.taxonomy.categories) - 1

    def _prototype_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._prototypes is None:
                texts = [(i, t) for i, c in enumerate(self.categories) for t in c.prototypes()]
                # The model of the finding sentences and of questions' topics (qa.embeddings.Embedder).
                vectors = (
                    self._encoder.encode_queries([t for _, t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)
                )
                self._prototypes = (
                    np.asarray(vectors, dtype=np.float32),
                    np.array([i for i, _ in texts], dtype=np.int64),
                )
            return self._prototypes

    def prepare(self) -> None:
        """Embed the prototypes and fit the head now (~5 s on 2 cores), not in the first question that maps a topic."""
        self._prototype_vectors()
        if self.params.head_weight:
            self.head()

    def head(self) -> ConceptHead:
        """The concept head fitted on the prototype vectors (once per process, ~1 s for ~1,200 examples)."""
        protos, owner = self._prototype_vectors()
        with self._lock:
            if self._head is None:
                self._head = ConceptHead.fit(protos, owner, len(self.categories), self.params.head_c)
            return self._head

    def sentence_scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(sentences × categories) scores, the fallback last (−1 when it has no examples)."""
        categories = self.categories
        out = np.full((len(texts), len(categories)), -1.0, dtype=np.float32)
        if not len(texts):
            return out
        protos, owner = self._prototype_vectors()
        if len(protos):
            # In float64: a float32 product's rounding depends on how many rows go in at once (the BLAS picks its
            # kernel by shape; on AVX-512 CPUs one row alone differs in the last bit), and a view grown document by
            # document must hold the scores a fresh build computes for all rows together.
            sims = np.asarray(vectors, dtype=np.float64) @ protos.T.astype(np.float64)
            for c in range(len(categories)):
                cols = owner == c
                if cols.any():
                    out[:, c] = sims[:, cols].max(axis=1)
        p = self.params
        if p.head_weight and len(protos):
            out += p.head_weight * self.head().probabilities(vectors)
        for c, cat in enumerate(categories):
            if cat.keywords:
                hits = [cat.keyword_hits(t, p.keyword_hits) for t in texts]
                out[:, c] += p.keyword_weight * np.asarray(hits, dtype=np.float32)
        return out

    def accepted(self, scores: np.ndarray, *, topic: bool = False) -> np.ndarray:
        """(sentences × categories) bool: the concepts each sentence states (never the fallback)."""
        p = self.params
        threshold, margin = (p.topic_threshold, p.topic_margin) if topic else (p.threshold, p.margin)
        out = np.zeros(scores.shape, dtype=bool)
        if not scores.size or scores.shape[1] < 2:
            return out
        order = np.argsort(-scores, axis=1, kind="stable")
        rows = np.arange(len(scores))
        best, second = order[:, 0], order[:, 1]
        top, runner = scores[rows, best], scores[rows, second]
        # Two strong concepts are two problems in one sentence, not an ambiguous one (a question names one).
        both = ~np.asarray(topic) & (second != self.fallback_index) & (runner >= p.second_threshold)
        ok = (best != self.fallback_index) & (top >= threshold) & ((top - runner >= margin) | both)
        out[rows[ok], best[ok]] = True
        out[rows[ok & both], second[ok & both]] = True
        return out

    def confidence(self, score: float) -> float:
        p = self.params
        top = 1.0 + p.keyword_weight * p.keyword_hits
        return round(float(min(1.0, max(0.0, (score - p.threshold) / (top - p.threshold)) * 0.5 + 0.5)), 3)

    def assign(self, scores: np.ndarray, accepted: np.ndarray) -> list[Assignment]:
        """Categories of one finding from its sentences' scores (rows) and `self.accepted` of them (computed for many
        findings' rows at once by the caller: rows are judged one by one), best first; the fallback when none."""
        if not len(scores):
            return [Assignment(FALLBACK, 0.0, 0)]
        ok = accepted
        found: list[Assignment] = []
        for c in np.flatnonzero(ok.any(axis=0)).tolist():
            rows = np.flatnonzero(ok[:, c])
            best = int(rows[np.argmax(scores[rows, c])])
            found.append(Assignment(self.categories[c].name, self.confidence(float(scores[best, c])), best))
        if not found:
            # Confidence of 其他: how far the best concept stayed below the threshold.
            gap = float(self.params.threshold - scores[:, : self.fallback_index].max()) if self.fallback_index else 1.0
            return [Assignment(FALLBACK, round(min(1.0, max(0.0, 0.5 + gap)), 3), 0)]
        return sorted(found, key=lambda a: -a.confidence)

    def topic_concept(self, topic: str, vector: np.ndarray, key_words: Sequence[str] = ()) -> int | None:
        """The concept (category index) a question's topic names, or None (another subject, or not clearly one).
        `key_words`: the topic's own words that say what it is about (qa.evidence.KeyTerms), when the caller has them."""
        scores = self.sentence_scores([topic], vector[None, :])
        hit = np.flatnonzero(self.accepted(scores, topic=True)[0])
        if not len(hit):
            return None
        c, p = int(hit[0]), self.params
        weak = bool(p.head_weight) and scores[0, c] < p.topic_sure
        if weak and self.head().probabilities(vector[None, :])[0, c] < p.topic_min_probability:
            return None
        # A weak mapping none of whose key words the concept's texts use is a subject they do not cover: 施工现场没做
        # 围挡和覆盖 reached 项目前期工作不足 (0.86) and 编外人员社保没交足 专业人才缺乏 (0.86), each listing 40-50 units.
        # Only the words not inside a longer one count (施工 of 施工现场 is in the concept's texts, 施工现场 is not).
        whole = [w for w in key_words if not any(w != o and w in o for o in key_words)]
        # A word of every budget text (资金, 项目) shared with the concept says nothing of the subject: 资金被挤占挪用
        # reached 资金使用效益不高 by 资金.
        telling = [w for w in whole if w not in _UBIQUITOUS] or whole
        if weak and telling and not any(w in self.categories[c].text for w in telling):
            return None
        return c


_UBIQUITOUS = frozenset("资金 项目 预算 经费 支出 管理 单位 部门 财政 绩效".split())


@dataclass(frozen=True)
class ConceptHead:
    """Multinomial logistic regression from sentence vectors to categories (the fallback's examples included)."""

    coef: np.ndarray  # (categories × dimension)
    intercept: np.ndarray  # (categories,)

    @classmethod
    def fit(cls, vectors: np.ndarray, owner: np.ndarray, categories: int, c: float) -> ConceptHead:
        from sklearn.linear_model import LogisticRegression  # only for fitting, once per process

        coef = np.zeros((categories, vectors.shape[1]), dtype=np.float32)
        intercept = np.full(categories, -np.inf, dtype=np.float32)  # a category without examples: probability 0
        present = np.unique(owner)
        if len(present) < 2:  # nothing to learn: every sentence is the one category that has examples
            intercept[present] = 0.0
            return cls(coef, intercept)
        model = LogisticRegression(C=c, max_iter=3000).fit(vectors, owner)
        if len(model.classes_) == 2:  # one row for the second class: softmax([0, z]) is its sigmoid
            coef[model.classes_[0]], intercept[model.classes_[0]] = 0.0, 0.0
            coef[model.classes_[1]], intercept[model.classes_[1]] = model.coef_[0], model.intercept_[0]
        else:
            coef[model.classes_] = model.coef_
            intercept[model.classes_] = model.intercept_
        return cls(coef, intercept)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        # float64 for the reason `Categorizer.sentence_scores` gives: the same row, the same value, in any batch.
        logits = np.asarray(vectors, dtype=np.float64) @ self.coef.T.astype(np.float64) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        out: np.ndarray = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return out
