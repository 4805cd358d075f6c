"""The categories findings are sorted into: a YAML taxonomy (shipped default or the user's own via QA_TAXONOMY)
and the classifier that assigns them.

A finding belongs to every category whose score clears `CategoryParams.threshold`; the score of a category is
the best over the finding's sentences of

    cosine(sentence, closest of the category's description and examples) + keyword_weight · [a keyword matches]

so a paraphrase with no keyword (预算做得比较粗) can still reach a category through meaning, a keyword alone does
not decide it, and a finding of several sentences collects the categories of each (003: 绩效目标不够细化 and
缺乏专职专业管理人员). A finding that reaches no category is 其他. The sentence vectors are the ones computed at
ingest; only the taxonomy's own texts are embedded here (once per process), so a new taxonomy needs no re-ingest.

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

    def prototypes(self) -> list[str]:
        return [t for t in (self.description, *self.examples) if t.strip()]


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
                    raise TaxonomyError(f"分类文件 {source} 中分类“{name}”的关键词 {k!r} 不是合法的正则表达式：{exc}") from exc
            examples = tuple(str(e) for e in item.get("examples") or [] if str(e).strip())
            categories.append(Category(name, str(item.get("description") or ""), examples, tuple(keywords)))
        others = [c for c in categories if c.name == FALLBACK] or [Category(FALLBACK, "不属于以上任何一类", (), ())]
        ordered = tuple([c for c in categories if c.name != FALLBACK] + others[:1])
        digest = hashlib.sha1(repr([(c.name, c.prototypes(), [k.pattern for k in c.keywords]) for c in ordered]).encode()).hexdigest()[:12]
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
    """Chosen on the hand-labelled findings of the samples (eval_sets/findings.jsonl, docs/findings.md)."""

    keyword_weight: float = 0.2
    threshold: float = 0.9  # similarity + keyword bonus a category needs
    # /v1/ask: a role-less topic ("专账核算") goes to the findings when it reaches a category this strongly.
    topic_threshold: float = 1.0


@dataclass(frozen=True)
class Assignment:
    name: str
    confidence: float  # 0–1: how far above the threshold the score is, relative to a keyword-backed exact match
    sentence: int  # index of the finding's sentence that carries it (its cited sentence)


class Categorizer:
    """Scores sentence vectors against a taxonomy; prototype vectors are embedded once per taxonomy."""

    def __init__(self, taxonomy: Taxonomy, encoder: Encoder, params: CategoryParams | None = None) -> None:
        self.taxonomy = taxonomy
        self.params = params or CategoryParams()
        self._encoder = encoder
        self._lock = threading.Lock()
        self._prototypes: tuple[np.ndarray, np.ndarray] | None = None  # vectors, category index per vector

    @property
    def scored(self) -> list[Category]:
        """Categories with a score of their own (all but the fallback)."""
        return [c for c in self.taxonomy.categories if c.name != FALLBACK]

    def _prototype_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._prototypes is None:
                texts = [(i, t) for i, c in enumerate(self.scored) for t in c.prototypes()]
                # The model of the finding sentences and of questions' topics (qa.embeddings.Embedder).
                vectors = self._encoder.encode_queries([t for _, t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)
                self._prototypes = (np.asarray(vectors, dtype=np.float32), np.array([i for i, _ in texts], dtype=np.int64))
            return self._prototypes

    def sentence_scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(sentences × scored categories) scores: best prototype cosine + keyword bonus."""
        categories = self.scored
        out = np.zeros((len(texts), len(categories)), dtype=np.float32)
        if not len(texts) or not categories:
            return out
        protos, owner = self._prototype_vectors()
        if len(protos):
            sims = np.asarray(vectors, dtype=np.float32) @ protos.T
            for c in range(len(categories)):
                cols = owner == c
                if cols.any():
                    out[:, c] = sims[:, cols].max(axis=1)
        for c, cat in enumerate(categories):
            if cat.keywords:
                hits = [any(k.search(t) for k in cat.keywords) for t in texts]
                out[:, c] += self.params.keyword_weight * np.asarray(hits, dtype=np.float32)
        return out

    def assign(self, scores: np.ndarray) -> list[Assignment]:
        """Categories of one finding from its sentences' scores (rows), best first; the fallback when none."""
        p = self.params
        if not len(scores):
            return [Assignment(FALLBACK, 0.0, 0)]
        best = scores.max(axis=0)
        which = scores.argmax(axis=0)
        top = 1.0 + p.keyword_weight
        found = [
            Assignment(cat.name, round(float(min(1.0, (best[c] - p.threshold) / (top - p.threshold) * 0.5 + 0.5)), 3), int(which[c]))
            for c, cat in enumerate(self.scored)
            if best[c] >= p.threshold
        ]
        if not found:
            # Confidence of 其他: how far the best category stayed below the threshold.
            gap = float(p.threshold - best.max()) if best.size else 1.0
            return [Assignment(FALLBACK, round(min(1.0, 0.5 + gap), 3), 0)]
        return sorted(found, key=lambda a: -a.confidence)

    def topic_category(self, topic: str, vector: np.ndarray) -> tuple[str, float] | None:
        """The category a question's topic names, when it names one strongly (see CategoryParams)."""
        scores = self.sentence_scores([topic], vector[None, :])[0]
        if not scores.size:
            return None
        c = int(scores.argmax())
        return (self.scored[c].name, float(scores[c])) if scores[c] >= self.params.topic_threshold else None
