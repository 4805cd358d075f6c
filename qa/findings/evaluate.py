"""Extraction and category assignment measured against hand labels (eval_sets/findings.jsonl; `qa findings eval`).

Each label names a finding by its source file, role and exact first/last characters. A label is *found* when
an extracted finding of that file and role starts and ends with them (boundaries exact); extraction precision
is the share of extracted findings that are labelled. Categories are compared on the found findings: micro
precision/recall/F1 over (finding, category) pairs, and per category.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.pipeline import expand_paths, prepare
from ingest.readers import read_document
from ingest.schema import finding_row_text
from qa.findings.model import Finding, group_rows, in_order
from qa.findings.taxonomy import Categorizer, Encoder
from qa.metrics import precision_recall_f1


class LabelError(ValueError):
    """The label file is missing or malformed (Chinese message)."""


@dataclass(frozen=True)
class Label:
    id: str
    source: str
    role: str
    starts_with: str
    ends_with: str
    categories: tuple[str, ...]


def load_labels(path: Path) -> list[Label]:
    labels: list[Label] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LabelError(f"无法读取标注文件 {path}：{exc.strerror or exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            d = json.loads(line)
            labels.append(
                Label(d["id"], d["source"], d["role"], d["starts_with"], d["ends_with"], tuple(d["categories"]))
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LabelError(f"标注文件 {path} 第 {n} 行格式不正确：{exc}") from exc
    return labels


def extract_corpus(paths: Sequence[Path], encoder: Encoder, categorizer: Categorizer) -> list[Finding]:
    """Findings of files exactly as ingest extracts and embeds them, categorised, without a store."""
    found: list[Finding] = []
    for path in expand_paths(paths):
        doc = prepare(read_document(path), {}, chunk_size=300, chunk_overlap=0)
        rows, vectors = in_order(doc.finding_rows, encoder.encode_queries(doc.finding_texts))
        found += group_rows(
            rows,
            categorizer.sentence_scores([finding_row_text(r.text, r.metadata) for r in rows], vectors),
            categorizer,
        )
    return found


def _matches(label: Label, f: Finding) -> bool:
    return (
        f.doc.source == label.source
        and f.role == label.role
        and f.text.startswith(label.starts_with)
        and f.text.endswith(label.ends_with)
    )


def evaluate_findings(labels: Sequence[Label], findings: Sequence[Finding]) -> dict[str, Any]:
    pairs: list[tuple[Label, Finding]] = []
    for label in labels:
        match = next((f for f in findings if _matches(label, f)), None)
        if match is not None:
            pairs.append((label, match))
    labelled_sources = {label.source for label in labels}
    extracted = {f.finding_id for f in findings if f.doc.source in labelled_sources}
    matched = {f.finding_id for _, f in pairs}
    ep = len(matched & extracted) / len(extracted) if extracted else 0.0
    er = len(pairs) / len(labels) if labels else 1.0
    ef1 = 2 * ep * er / (ep + er) if ep + er else 0.0
    gold = {(label.id, c) for label, _ in pairs for c in label.categories}
    predicted = {(label.id, c.name) for label, f in pairs for c in f.categories}
    p, r, f1 = precision_recall_f1(predicted, gold)
    per_category: dict[str, dict[str, float]] = {}
    for name in sorted({c for _, c in gold | predicted}):
        cp, cr, _ = precision_recall_f1({x for x in predicted if x[1] == name}, {x for x in gold if x[1] == name})
        per_category[name] = {
            "gold": sum(1 for x in gold if x[1] == name),
            "predicted": sum(1 for x in predicted if x[1] == name),
            "precision": round(cp, 4),
            "recall": round(cr, 4),
        }
    return {
        "labels": len(labels),
        "extracted": len(extracted),
        "per_source": dict(sorted(Counter(f.doc.source for f in findings if f.doc.source in labelled_sources).items())),
        "extraction": {"precision": round(ep, 4), "recall": round(er, 4), "f1": round(ef1, 4)},
        "missing": [label.id for label in labels if all(label is not lab for lab, _ in pairs)],
        "categories": {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f1, 4),
            "pairs_gold": len(gold),
            "pairs_predicted": len(predicted),
        },
        "per_category": per_category,
        "disagreements": [
            {
                "id": label.id,
                "missed": sorted(set(label.categories) - set(f.category_names())),
                "extra": sorted(set(f.category_names()) - set(label.categories)),
            }
            for label, f in pairs
            if set(label.categories) != set(f.category_names())
        ],
    }
