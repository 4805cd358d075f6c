"""Tune retrieval fusion and answer thresholds on an eval split (dev), by numbers.

    .venv/bin/python scripts/tune.py eval_sets/dev.jsonl [--chunk-sizes 200,300,400,600]

1. Chunking: passage MRR@10 / recall@5 of bm25, dense and hybrid for each chunk size (and overlap 0/1).
2. Fusion: each query's BM25 and dense top-50 are computed once; weighted RRF is then scored for a grid of
   rrf_k × dense_weight without touching the store again.
3. Evidence: each question's candidate sentences and their score parts are computed once; a grid over
   lexical weight and the aggregate/lookup thresholds then recombines them offline.
Prints JSON with every grid point, so the choice in docs/evaluation.md can be checked.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from qa.runtime import apply_env_defaults

apply_env_defaults()  # before numpy and the model load, as the `qa` command does

from ingest.pipeline import expand_paths
from qa.answer import Answerer, choose_lookup, select_units
from qa.embeddings import Embedder
from qa.evaluate import EvalItem, load_eval_set, standalone_queries
from qa.evidence import EvidenceParams, Sentence, combine
from qa.library import Library
from qa.metrics import mean, mrr_at_k, precision_recall_f1, recall_of_items
from qa.retrieve import Filters, Retriever, open_retriever, rrf
from qa.settings import Settings
from qa.understand import understand


def build(settings: Settings, embedder: Embedder, directory: Path, size: int, overlap: int) -> Retriever:
    s = settings.model_copy(update={"data_dir": directory, "chunk_size": size, "chunk_overlap": overlap})
    retriever = open_retriever(s, embedder)
    Library.of(retriever).ingest_files(expand_paths([Path("samples")]))
    return retriever


def passage_scores(items, queries, rankings) -> dict[str, float]:  # type: ignore[no-untyped-def]
    mrr, r5 = [], []
    for item, ranked in zip(items, rankings):
        found = [{q for q in item.gold_quotes if q in text} for text in ranked]
        mrr.append(mrr_at_k([bool(f) for f in found], 10))
        r5.append(recall_of_items(found, set(item.gold_quotes), 5))
    return {"mrr@10": round(mean(mrr), 4), "recall@5": round(mean(r5), 4)}


def rescore(sentences: list[Sentence], lexical_weight: float) -> list[Sentence]:
    fresh = [replace(x, score=combine(x.similarity, x.coverage, lexical_weight)) for x in sentences]
    return sorted(fresh, key=lambda x: (-x.score, x.doc_id, x.char_start))


def tune_evidence(items: list[EvalItem], answerer: Answerer) -> dict[str, object]:
    """Evidence for every question is gathered once; each parameter set only recombines the stored score
    parts and re-applies the same verdict functions the service uses (select_units, choose_lookup)."""
    catalogue = list(answerer.retriever.catalogue().values())
    aggregates, lookups = [], []
    for item in items:
        u = understand(item.question, item.history, catalogue)
        if answerer.unknown_entity(u) or u.units:
            continue  # decided without thresholds (unknown unit/year) or by the per-unit path
        if u.intent == "aggregate":
            aggregates.append((item, answerer.aggregate_evidence(u)))
        else:
            lookups.append((item, answerer.lookup_evidence(u)))

    def aggregate_score(p: EvidenceParams) -> tuple[float, float, float]:
        f1s, recalls, precisions = [], [], []
        for item, sentences in aggregates:
            accepted, _ = select_units(rescore(sentences, p.aggregate_lexical_weight), p)
            predicted = {x.hit.doc.source for x in accepted}
            if item.kind == "aggregate":
                pr, rc, f1 = precision_recall_f1(predicted, set(item.gold_sources))
                f1s.append(f1), recalls.append(rc), precisions.append(pr)
        return mean(f1s), mean(recalls), mean(precisions)

    def lookup_score(p: EvidenceParams) -> tuple[float, float]:
        contains, declined = [], []
        for item, ev in lookups:
            chosen = choose_lookup(rescore(ev.sentences, p.lookup_lexical_weight), ev.role, ev.from_section, p)
            if item.kind == "unanswerable":
                declined.append(float(not chosen))
            elif item.answer_contains:
                text = "".join(f"{x.hit.doc.unit}：{x.text}" for x in chosen)
                contains.append(float(all(c in text for c in item.answer_contains)))
        return mean(contains), mean(declined)

    # The two tasks have their own lexical weight, so they are tuned independently. Aggregates: best F1,
    # ties to recall. Lookups: most questions right (answer found, or declined when unanswerable).
    n_contains = sum(1 for item, _ in lookups if item.kind != "unanswerable" and item.answer_contains)
    n_declined = sum(1 for item, _ in lookups if item.kind == "unanswerable")
    aggregate_rows, lookup_rows = [], []
    for lw, thr in itertools.product((0.0, 0.15, 0.3, 0.45, 0.6, 0.8, 1.0), (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1)):
        p = EvidenceParams(aggregate_lexical_weight=lw, aggregate_threshold=thr)
        f1, rc, pr = aggregate_score(p)
        aggregate_rows.append(
            {
                "aggregate_lexical_weight": lw,
                "aggregate_threshold": thr,
                "unit_f1": round(f1, 4),
                "unit_recall": round(rc, 4),
                "unit_precision": round(pr, 4),
            }
        )
    for lw, thr in itertools.product((0.0, 0.15, 0.3, 0.45, 0.6, 0.8), (0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1)):
        p = EvidenceParams(lookup_lexical_weight=lw, lookup_threshold=thr)
        contains, declined = lookup_score(p)
        lookup_rows.append(
            {
                "lookup_lexical_weight": lw,
                "lookup_threshold": thr,
                "answer_contains": round(contains, 4),
                "declined": round(declined, 4),
                "correct": round(contains * n_contains + declined * n_declined, 1),
            }
        )
    aggregate_rows.sort(key=lambda r: (-r["unit_f1"], -r["unit_recall"]))  # type: ignore[operator]
    lookup_rows.sort(key=lambda r: -r["correct"])  # type: ignore[operator]
    print(json.dumps({"aggregate": aggregate_rows[:5], "lookup": lookup_rows[:5]}, ensure_ascii=False), flush=True)
    default = EvidenceParams()
    return {
        "aggregates": len(aggregates),
        "lookups": len(lookups),
        "aggregate_top": aggregate_rows[:10],
        "lookup_top": lookup_rows[:10],
        "current": {
            "aggregate_f1_recall_precision": aggregate_score(default),
            "lookup_contains_declined": lookup_score(default),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("eval_set", type=Path)
    parser.add_argument("--chunk-sizes", default="200,300,450,600")
    parser.add_argument("--only-evidence", action="store_true", help="skip the chunking and fusion grids")
    args = parser.parse_args()
    settings = Settings()
    embedder = Embedder(settings)
    items = [i for i in load_eval_set(args.eval_set)]
    retrieval_items = [i for i in items if i.gold_quotes]
    out: dict[str, object] = {}

    with tempfile.TemporaryDirectory() as tmp:
        chunking = []
        sizes = [] if args.only_evidence else [int(x) for x in args.chunk_sizes.split(",")]
        for size, overlap in itertools.product(sizes, (0, 1)):
            r = build(settings, embedder, Path(tmp) / f"c{size}-{overlap}", size, overlap)
            queries = standalone_queries(retrieval_items, r)
            row: dict[str, object] = {"chunk_size": size, "overlap": overlap, "chunks": r.store.count_chunks()}
            for mode in ("bm25", "dense", "hybrid"):
                ranked = [[h.text for h in r.search(q, mode=mode, top_k=10)] for q in queries]  # type: ignore[arg-type]
                row[mode] = passage_scores(retrieval_items, queries, ranked)
            chunking.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        out["chunking"] = chunking

        r = build(settings, embedder, Path(tmp) / "main", settings.chunk_size, settings.chunk_overlap)
        queries = standalone_queries(retrieval_items, r)
        sides = []
        for q in [] if args.only_evidence else queries:
            vec = embedder.encode([q])[0]
            dense = r.dense(q, 50, Filters(), vector=vec)
            lexical = r.bm25(q, 50, Filters())
            texts = {h.id: h.text for h in dense + lexical}
            sides.append(([h.id for h in lexical], [h.id for h in dense], texts))
        fusion = []
        for k, w in itertools.product((1, 5, 10, 20, 60), (0.0, 0.2, 0.35, 0.5, 0.7, 1.0)) if sides else []:
            ranked = [[texts[i] for i, _ in rrf([b, d], k, [1.0, w])[:10]] for b, d, texts in sides]
            fusion.append({"rrf_k": k, "dense_weight": w, **passage_scores(retrieval_items, queries, ranked)})
        fusion.sort(key=lambda row: -(row["mrr@10"] + row["recall@5"]))  # type: ignore[operator]
        out["fusion_top"] = fusion[:8]
        print(json.dumps(out["fusion_top"], ensure_ascii=False), flush=True)

        out["evidence"] = tune_evidence(items, Answerer(r))
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
