"""Grid search of the concept rule (qa.findings.taxonomy.CategoryParams) on the scale evaluation's TUNING half.

    .venv/bin/python scripts/tune_concepts.py              # the tuning library `qa eval --scale --split tuning` built

Reads the store that `qa eval --scale --split tuning` cached (data/scale-cache/tuning-*), takes every problem
finding sentence with its category cosines and keyword hits once, then for each grid point decides which documents
state each bank topic (through the concept its canonical phrase maps onto, as answers do) and scores them against
the generator's ground truth: micro precision / recall / F1 over units, plus how many of the half's question
paraphrases map onto their topic's concept. The reporting half is refused: it is never tuned on.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace

import numpy as np

from ingest.schema import finding_row_text
from qa.embeddings import get_embedder
from qa.findings import Categorizer, FindingsIndex, load_taxonomy
from qa.retrieve import open_retriever
from qa.scale.bank import load_bank, load_common
from qa.scale.generate import DEFAULT_DOCS, DEFAULT_SEED, generate_library
from qa.scale.harness import latest_store
from qa.settings import get_settings
from qa.understand import aggregate_topic


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="tuning")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    if args.split != "tuning":
        print("只在调参半区上调参（reporting 半区只用于报告）", file=sys.stderr)
        return 2
    settings = get_settings()
    store_dir = latest_store(settings)
    if store_dir is None:
        print("没有调参半区的缓存向量库：先运行 qa eval --scale --split tuning", file=sys.stderr)
        return 2
    bank = load_bank("tuning")
    library = generate_library(bank, load_common(), DEFAULT_DOCS, DEFAULT_SEED)
    by_file = {d.file: d for d in library.docs}
    embedder = get_embedder()
    retriever = open_retriever(settings.model_copy(update={"data_dir": store_dir}), embedder)
    base = Categorizer(load_taxonomy(settings.taxonomy), embedder)
    index = FindingsIndex(retriever, base)
    view = index.view()
    # Cosine and keyword parts of every row's score, apart, so the keyword weight can vary without re-reading.
    vectors = view.vectors.take(np.arange(len(view.vectors)))
    findings = [view.finding(int(view.row_finding[r])) for r in range(len(vectors))]
    texts = [
        finding_row_text(f.sentences[r - f.first_row].text, {"lead": f.lead, "sentence_index": r - f.first_row})
        for r, f in enumerate(findings)
    ]
    zero_kw = Categorizer(base.taxonomy, embedder, replace(base.params, keyword_weight=0.0))
    cos = zero_kw.sentence_scores(texts, vectors)
    one_kw = Categorizer(base.taxonomy, embedder, replace(base.params, keyword_weight=1.0, keyword_hits=1000))
    hits = one_kw.sentence_scores(texts, vectors) - cos
    docs = [by_file.get(f.doc.source) for f in findings]
    units = np.array([d.unit if d else "" for d in docs], dtype=object)
    topics = bank.topics
    gold = {t.id: {d.unit for d in library.docs if t.id in d.stated} for t in topics}
    questions = [(t.id, aggregate_topic(q)) for t in topics for q in (t.canonical_question, *t.paraphrases)]
    questions += [(None, aggregate_topic(q)) for n in bank.nobody for q in n.questions]  # must map onto no concept
    q_vectors = embedder.encode_queries([q for _, q in questions])
    canon = embedder.encode_queries([t.canonical for t in topics])
    rows = []
    # Sentence rule first (the documents' side), then the question rule on its best point.
    grid = itertools.product(
        (0.04, 0.05, 0.07), (2,), (0.76, 0.78, 0.8, 0.82), (0.0, 0.01, 0.02, 0.03), (0.88, 0.9, 0.92)
    )
    for kw, cap, threshold, margin, second in grid:
        params = replace(
            base.params,
            keyword_weight=kw,
            keyword_hits=cap,
            threshold=threshold,
            margin=margin,
            second_threshold=second,
        )
        cat = Categorizer(base.taxonomy, embedder, params)
        cat._prototypes = base._prototype_vectors()  # same texts: reuse the prototype vectors
        scores = cos + kw * np.minimum(hits, cap)
        ok = cat.accepted(scores) & view.row_problem[:, None]
        tp = fp = fn = 0
        for t, v in zip(topics, canon):
            c = cat.topic_concept(t.canonical, v)
            listed = set(units[ok[:, c]].tolist()) - {""} if c is not None else set()
            tp += len(listed & gold[t.id])
            fp += len(listed - gold[t.id])
            fn += len(gold[t.id] - listed)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append(
            (
                round(f1, 4),
                round(p, 4),
                round(r, 4),
                dict(keyword_weight=kw, keyword_hits=cap, threshold=threshold, margin=margin, second_threshold=second),
            )
        )
    rows.sort(key=lambda x: (-x[0], -x[1]))
    for row in rows[: args.top]:
        print(*row)
    best = rows[0][3]
    print("questions (canonical concept of the topic, or none for nobody topics), at", best)
    for tt, tm in itertools.product((0.8, 0.82, 0.84, 0.86, 0.88), (0.0, 0.01, 0.02, 0.03, 0.05)):
        cat = Categorizer(base.taxonomy, embedder, replace(base.params, **best, topic_threshold=tt, topic_margin=tm))
        cat._prototypes = base._prototype_vectors()
        want = {t.id: cat.topic_concept(t.canonical, v) for t, v in zip(topics, canon)}
        got = [cat.topic_concept(q, v) for (_, q), v in zip(questions, q_vectors)]
        right = sum(g == (want[tid] if tid else None) for (tid, _), g in zip(questions, got))
        wrong = [q for (tid, q), g in zip(questions, got) if g != (want[tid] if tid else None)]
        print(tt, tm, f"{right}/{len(questions)}", "canonical unmapped:", sum(v is None for v in want.values()), wrong)
    return 0


if __name__ == "__main__":
    sys.exit(main())
