"""A second tuning check of which-units answers: eval_sets/scale/check_tuning.yaml (or another tuning set of the
same kind, e.g. eval_sets/scale/independent_a.yaml) against the tuning library.

    .venv/bin/python scripts/scale_check.py                  # after `qa eval --scale` (tuning) has cached its store
    .venv/bin/python scripts/scale_check.py eval_sets/scale/independent_a.yaml

1. Sentences: does the categoriser give each statement its topic's concept (and no other)?
2. Questions: each everyday question is asked through `Answerer.ask` on the cached tuning library and its unit list
   is scored against the units whose reports state the topic (the generator's ground truth of the canonical
   question), micro precision / recall, and how many questions give that list (Jaccard ≥ 0.95).
The set is tuning material (its README line says how it was written); the reporting half stays for reporting.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

from qa.answer import Answerer
from qa.answering import prepared
from qa.embeddings import Embedder, get_embedder
from qa.findings import Categorizer, load_taxonomy
from qa.retrieve import open_retriever
from qa.scale.bank import Bank, load_bank, load_common
from qa.scale.generate import DEFAULT_DOCS, DEFAULT_SEED, generate_library
from qa.scale.harness import ROOT, asked_of, latest_store
from qa.scale.questions import build_questions
from qa.settings import get_settings

CHECK = ROOT / "eval_sets" / "scale" / "check_tuning.yaml"


def _topics(data: dict, bank: Bank, categorizer: Categorizer, embedder: Embedder) -> dict:
    """Both layouts as {"topics": {id: {concept, sentences, questions}}}: check_tuning.yaml names each topic's
    concept; the independent sets list topics with `problems` ({style, text}), and their concept is the one the bank's
    canonical phrase maps onto."""
    if isinstance(data["topics"], dict):
        return data
    canonical = {t.id: t.canonical for t in bank.topics}
    topics = {}
    for t in data["topics"]:
        phrase = canonical[t["id"]]
        c = categorizer.topic_concept(phrase, embedder.encode_queries([phrase])[0])
        if c is None:
            raise SystemExit(f"主题 {t['id']} 的标准说法“{phrase}”没有对应的分类")
        topics[t["id"]] = {
            "concept": categorizer.taxonomy.names[c],
            "sentences": [p["text"] for p in t["problems"]],
            "questions": t["questions"],
        }
    return {"topics": topics}


def main() -> int:
    settings = get_settings()
    store_dir = latest_store(settings)
    if store_dir is None:
        print("没有调参半区的缓存向量库：先运行 qa eval --scale", file=sys.stderr)
        return 2
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else CHECK
    if "reporting" in path.name:
        print("只用调参材料检查（reporting 半区只用于报告）", file=sys.stderr)
        return 2
    bank = load_bank("tuning")
    library = generate_library(bank, load_common(), DEFAULT_DOCS, DEFAULT_SEED)
    canonical = {q.topic: q for q in build_questions(bank, library) if q.frame == "canonical"}
    embedder = get_embedder()
    categorizer = Categorizer(load_taxonomy(settings.taxonomy), embedder)
    names = categorizer.taxonomy.names
    check = _topics(yaml.safe_load(path.read_text(encoding="utf-8")), bank, categorizer, embedder)

    right = other = total = 0
    for topic_id, topic in check["topics"].items():
        concept = names.index(topic["concept"])
        texts = topic["sentences"]
        accepted = categorizer.accepted(categorizer.sentence_scores(texts, embedder.encode_queries(texts)))
        for text, row in zip(texts, accepted):
            total += 1
            right += int(row[concept])
            other += int(row.sum() - row[concept])
            if not row[concept]:
                print(f"  句子未归入 {topic_id}: {text} → {[names[i] for i in np.flatnonzero(row)]}")
    print(f"sentences: {right}/{total} given their concept, {other} other concepts accepted")

    retriever = open_retriever(settings.model_copy(update={"data_dir": store_dir}), embedder)
    answerer = Answerer(retriever)
    prepared.prepare_sentences(answerer.ctx)
    answerer.warm()
    tp = fp = fn = same = asked = 0
    for topic_id, topic in check["topics"].items():
        gold = set(canonical[topic_id].gold)
        for question in topic["questions"]:
            units = set(asked_of(answerer.ask(question), 0.0).units)
            asked += 1
            tp, fp, fn = tp + len(units & gold), fp + len(units - gold), fn + len(gold - units)
            jaccard = len(units & gold) / len(units | gold) if units | gold else 1.0
            same += int(jaccard >= 0.95)
            if jaccard < 0.95:
                print(f"  {topic_id:16s} J={jaccard:.2f} +{len(units - gold)} -{len(gold - units)} {question}")
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(f"questions: P {p:.3f} R {r:.3f} F1 {2 * p * r / max(1e-9, p + r):.3f}; {same}/{asked} give the gold list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
