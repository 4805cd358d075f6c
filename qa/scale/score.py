"""Scores of the scale evaluation, from what the answering path returned (`Asked`) and the library's ground truth.

Units are compared by the name the answer lists (the generator knows every document's unit). Per question: true,
false and missed units; every document cited for a listed unit that does not state the topic (within the
question's filters) is a wrongly counted document, attributed to the near misses it carries for the topic.
Overall and per frame / topic: micro unit P/R/F1; per topic the Jaccard of the lists its unfiltered wordings
give; nobody topics: false units; near misses: wrongly counted citations by what they quote (a positive
statement of the topic, a plan, "no problem found", a neighbour topic's problem, …) against the documents that
carry such a near miss in the question's scope; related entries about the same topic; latency.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from qa.metrics import jaccard, micro_prf, percentile, precision_recall_f1
from qa.scale.generate import Library, LibraryDoc
from qa.scale.questions import FRAMES, UNFILTERED, Question

# Kinds of near miss a wrongly counted citation can be: the planted sentence it quotes decides (a document may
# carry several). The first seven have an exposure (documents that carry them for the topic); the rest do not.
NEAR_MISSES = ("positive", "plan", "no_problem", "neighbour", "surface", "decoy", "other_kind")
OTHER_CAUSES = ("other_topic", "out_of_scope", "filler")
NEVER_COUNTED = ("positive", "plan", "no_problem")  # issue 18: these must never be counted
_WINDOW = 8  # characters a cited sentence must share in a row with a planted sentence to be "that sentence"


@dataclass(frozen=True)
class Cited:
    unit: str
    source: str  # file name of the cited document
    text: str


@dataclass(frozen=True)
class Asked:
    """One answer, reduced to what scoring needs (qa.scale.harness builds it from an `Answer`)."""

    kind: str
    units: tuple[str, ...]
    cited: tuple[Cited, ...]  # the citations of listed units
    related: tuple[Cited, ...]  # the first citation of each related entry
    seconds: float


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def overlaps(cited: str, planted: str, window: int = _WINDOW) -> bool:
    """Whether a cited sentence is (part of) a planted one: they share `window` characters in a row (all of a
    shorter citation). Planted sentences may be joined into runs ("一是…；二是…"), so no exact match is asked."""
    a, b = _norm(cited).strip("。；;，,"), _norm(planted)
    if len(a) < window:
        return bool(a) and a in b
    return any(a[i : i + window] in b for i in range(len(a) - window + 1))


def near_miss_kinds(doc: LibraryDoc, topic: str, neighbours: dict[str, tuple[str, ...]]) -> list[str]:
    """The near misses of `topic` a document carries (for exposure counts; the document does not state it)."""
    kinds = ["other_kind"] if doc.kind == "其他" else []
    kinds += [c for c in ("positive", "plan", "surface", "decoy") if doc.carries(c, topic)]
    if any(p.category == "no_problem" for p in doc.planted):
        kinds.append("no_problem")
    if any(n in doc.stated for n in neighbours.get(topic, ())):
        kinds.append("neighbour")
    return kinds


def cause(doc: LibraryDoc, topic: str, text: str, neighbours: dict[str, tuple[str, ...]]) -> str:
    """Why a cited sentence was wrongly counted for `topic`: the kind of the planted sentence it quotes."""
    hits = [p for p in doc.planted if overlaps(text, p.text)]
    for p in hits:  # sentences about the topic itself first
        if p.topic == topic:
            return "out_of_scope" if p.category == "problem" else p.category
    for p in hits:
        if p.category == "no_problem":
            return "no_problem"
        if p.category == "decoy":
            return "decoy"
        if p.topic in neighbours.get(topic, ()):
            return "neighbour"
    if hits:
        return "other_topic"
    return "other_kind" if doc.kind == "其他" else "filler"


def _is_statement(doc: LibraryDoc | None, topic: str, text: str) -> bool:
    return doc is not None and any(
        p.category == "problem" and p.topic == topic and overlaps(text, p.text) for p in doc.planted
    )


def _about_topic(doc: LibraryDoc | None, topic: str, text: str) -> bool:
    return doc is not None and any(
        p.topic == topic and p.category in ("problem", "positive", "plan") and overlaps(text, p.text)
        for p in doc.planted
    )


def score_question(
    q: Question, asked: Asked, docs: dict[str, LibraryDoc], neighbours: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    predicted, gold = set(asked.units), set(q.gold)
    wrong: dict[str, list[str]] = {}  # source → causes of its wrongly counted citations
    for c in asked.cited:
        doc = docs.get(c.source)
        if doc is None or q.topic not in doc.stated or not q.admits(doc):
            why = cause(doc, q.topic, c.text, neighbours) if doc else "unknown"
            if why not in wrong.setdefault(c.source, []):
                wrong[c.source].append(why)
    true_units = predicted & gold
    p, r, f = precision_recall_f1(predicted, gold)
    evidence_ok = sum(
        any(_is_statement(docs.get(c.source), q.topic, c.text) for c in asked.cited if c.unit == u) for u in true_units
    )
    return {
        "id": q.id,
        "topic": q.topic,
        "frame": q.frame,
        "kind": asked.kind,
        "gold": len(gold),
        "listed": len(predicted),
        "tp": len(true_units),
        "fp": len(predicted - gold),
        "fn": len(gold - predicted),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
        "false_units": sorted(predicted - gold),
        "missed_units": sorted(gold - predicted),
        "wrong_docs": wrong,
        "evidence_ok": evidence_ok,
        "related": len(asked.related),
        "related_same_topic": sum(_about_topic(docs.get(c.source), q.topic, c.text) for c in asked.related),
        "count_exact": (len(predicted) == len(gold) and asked.kind == "aggregate") if q.frame == "count" else None,
        "ms": round(asked.seconds * 1000, 1),
    }


def _prf(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    rows = list(rows)
    p, r, f = micro_prf(sum(x["tp"] for x in rows), sum(x["fp"] for x in rows), sum(x["fn"] for x in rows))
    return {"questions": len(rows), "unit_precision": p, "unit_recall": r, "unit_f1": f}


def _jaccards(rows: list[dict[str, Any]], listed: dict[str, set[str]]) -> list[float]:
    ids = [x["id"] for x in rows if x["frame"] in UNFILTERED]
    return [jaccard(listed[a], listed[b]) for a, b in combinations(ids, 2)]


def _summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"min": 1.0, "median": 1.0, "mean": 1.0}
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "mean": round(statistics.fmean(values), 4),
    }


def _exposure(
    questions: Sequence[Question], library: Library, neighbours: dict[str, tuple[str, ...]]
) -> dict[str, int]:
    """(question, document) pairs where the document, in the question's scope, carries a near miss of its topic
    and does not state it: how often each near-miss kind could have been wrongly counted (a document is counted
    as wrong for a kind when one of its cited sentences quotes that kind)."""
    exposed = dict.fromkeys(NEAR_MISSES, 0)
    for q in questions:
        for d in library.docs:
            if q.admits(d) and q.topic not in d.stated:
                for k in near_miss_kinds(d, q.topic, neighbours):
                    exposed[k] += 1
    return exposed


def score(
    questions: Sequence[Question], asked: Sequence[Asked], library: Library, neighbours: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    docs = library.by_file()
    rows = [score_question(q, a, docs, neighbours) for q, a in zip(questions, asked)]
    listed = {q.id: set(a.units) for q, a in zip(questions, asked)}
    overall: dict[str, Any] = _prf(x for x in rows if x["frame"] != "nobody")
    by_frame = {
        f: _prf(x for x in rows if x["frame"] == f)
        | {
            "latency_p50_ms": percentile([x["ms"] for x in rows if x["frame"] == f], 50),
            "latency_p95_ms": percentile([x["ms"] for x in rows if x["frame"] == f], 95),
        }
        for f in FRAMES
        if any(x["frame"] == f for x in rows)
    }
    topics = sorted({x["topic"] for x in rows if x["frame"] != "nobody"}, key=[x["topic"] for x in rows].index)
    by_topic: dict[str, Any] = {}
    all_pairs: list[float] = []
    for t in topics:
        mine = [x for x in rows if x["topic"] == t]
        pairs = _jaccards(mine, listed)
        all_pairs += pairs
        by_topic[t] = _prf(mine) | {"gold_units": max(x["gold"] for x in mine), "jaccard": _summary(pairs)}
    nobody = [x for x in rows if x["frame"] == "nobody"]
    exposed = _exposure(questions, library, neighbours)
    wrong = dict.fromkeys(NEAR_MISSES + OTHER_CAUSES + ("unknown",), 0)
    wrong_docs: dict[str, set[str]] = {k: set() for k in wrong}
    for x in rows:
        for source, kinds in x["wrong_docs"].items():
            for k in kinds:
                if k in wrong:
                    wrong[k] += 1
                    wrong_docs[k].add(source)
    never_exposed = sum(exposed[k] for k in NEVER_COUNTED)
    counts = [x["count_exact"] for x in rows if x["count_exact"] is not None]
    related = sum(x["related"] for x in rows)
    true_units = sum(x["tp"] for x in rows)
    latencies = [x["ms"] for x in rows]
    jac = _summary(all_pairs)
    # With nobody questions too: their false units are false units of the product.
    all_p, _all_r, _all_f = micro_prf(
        sum(x["tp"] for x in rows), sum(x["fp"] for x in rows), sum(x["fn"] for x in rows)
    )
    overall |= {
        "unit_precision_with_nobody": all_p,
        "jaccard_min": jac["min"],
        "jaccard_median": jac["median"],
        "jaccard_mean": jac["mean"],
        "nobody_false_units": sum(x["fp"] for x in nobody),
        "nobody_clean": round(sum(x["fp"] == 0 for x in nobody) / len(nobody), 4) if nobody else 1.0,
        "near_miss_clean": round(1 - sum(wrong[k] for k in NEVER_COUNTED) / never_exposed, 4) if never_exposed else 1.0,
        "count_exact": round(sum(counts) / len(counts), 4) if counts else 1.0,
        "aggregate_kind": round(sum(x["kind"] == "aggregate" for x in rows) / len(rows), 4) if rows else 1.0,
        "evidence_ok": round(sum(x["evidence_ok"] for x in rows) / true_units, 4) if true_units else 1.0,
        "related_same_topic": round(sum(x["related_same_topic"] for x in rows) / related, 4) if related else 1.0,
        "related_entries": related,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "latency_max_ms": max(latencies, default=0.0),
    }
    near = {k: {"exposed": exposed.get(k), "wrong": wrong[k], "docs_wrong": len(wrong_docs[k])} for k in wrong}
    return {"overall": overall, "by_frame": by_frame, "by_topic": by_topic, "near_miss": near, "rows": rows}
