"""Lexical variants for issue 19 item 4, offline: BM25 lists recomputed per query from the dumps' libraries.

    .venv/bin/python -m bench.fusion_lexical dev,test,cmrc2018,stard [variant-prefixes]

Variants: `base` (one BM25 over the indexed text, as the service before issue 19); `base+fields w` (plus w × BM25
over the title / unit / section path alone); `fields w` (BM25 over the body plus w × BM25 over those fields, two
indexes); `phrase w` (the base plus w × BM25 over adjacent word pairs, `qa.lexical.pairs`: a proximity signal for
multi-word matches); `mixed` (word pairs as extra tokens of the one index). Each variant's BM25 list
is fused with the unchanged dense list; MRR@10 of BM25 alone and of the fusion are reported per set and half.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import bm25s
import numpy as np

from bench import common  # noqa: F401
from bench.fusion_data import DEPTH, Dump, Query
from bench.fusion_explore import groups, load, mrr_of, table
from ingest.text import index_text
from qa.fusion import FusionParams, fuse
from qa.lexical import pairs, tokenize


def fields_and_body(d: Dump) -> tuple[list[str], list[str], list[str]]:
    ids, fields, body = [], [], []
    for i, (text, m) in sorted(d.chunks.items()):
        ids.append(i)
        if d.name in ("dev", "test"):
            fields.append(f"{m.get('unit') or m.get('title', '')}｜{m.get('section', '')}")
        else:
            fields.append(str(m.get("title", "")))
        body.append(text)
    return ids, fields, body


def base_text(d: Dump, i: str) -> str:
    text, m = d.chunks[i]
    if d.name in ("dev", "test"):
        return index_text(
            text, unit=str(m.get("unit", "")), title=str(m.get("title", "")), section=str(m.get("section", ""))
        )
    return f"{m.get('title', '')}\n{text}".strip()


class Index:
    def __init__(self, docs: list[list[str]]) -> None:
        self.bm25 = bm25s.BM25()
        self.bm25.index([t or ["\u0000"] for t in docs], show_progress=False)
        self.vocab = self.bm25.vocab_dict

    def scores(self, tokens: list[str], n: int) -> np.ndarray:
        toks = [t for t in tokens if t in self.vocab]
        return self.bm25.get_scores(toks) if toks else np.zeros(n)


def variants(d: Dump) -> dict[str, Callable[[Query], np.ndarray]]:
    ids, fields, body = fields_and_body(d)
    n = len(ids)
    base = Index([tokenize(base_text(d, i)) for i in ids])
    fidx = Index([tokenize(f) for f in fields])
    bidx = Index([tokenize(b) for b in body])
    pidx = Index([pairs(base_text(d, i)) for i in ids])
    out: dict[str, Callable[[Query], np.ndarray]] = {"base": lambda q: base.scores(tokenize(q.text), n)}
    for w in (0.1, 0.25, 0.5):
        out[f"base+fields {w}"] = lambda q, w=w: base.scores(tokenize(q.text), n) + w * fidx.scores(tokenize(q.text), n)
    for w in (0.5, 1.0, 2.0):
        out[f"fields {w}"] = lambda q, w=w: bidx.scores(tokenize(q.text), n) + w * fidx.scores(tokenize(q.text), n)
    for w in (0.25, 0.5, 1.0):
        out[f"phrase {w}"] = lambda q, w=w: base.scores(tokenize(q.text), n) + w * pidx.scores(pairs(q.text), n)
    midx = Index([tokenize(base_text(d, i)) + pairs(base_text(d, i)) for i in ids])
    out["mixed (pairs in the one index)"] = lambda q: midx.scores(tokenize(q.text) + pairs(q.text), n)
    out["_ids"] = ids  # type: ignore[assignment]
    return out


def relisted(q: Query, scores: np.ndarray, ids: Sequence[str], row: dict[str, int]) -> Query:
    top = np.argsort(-scores, kind="stable")[:DEPTH]
    bm25 = [ids[r] for r in top if scores[r] > 0]
    union = set(bm25) | set(q.dense[:DEPTH])
    return Query(
        q.id, q.text, q.half, q.relevant, bm25, q.dense, {i: float(scores[row[i]]) for i in union}, q.cosine, q.sampled
    )


def main(argv: list[str]) -> int:
    sets = argv[0].split(",") if argv else ["dev", "test"]
    only = argv[1].split(",") if len(argv) > 1 else None
    params = [FusionParams(alpha=a) for a in (0.3, 0.4, 0.5)]
    for name in sets:
        d = load(name, "nophrase")  # the dense lists; every BM25 list is recomputed here
        vs = variants(d)
        ids = vs.pop("_ids")  # type: ignore[arg-type]
        row = {i: r for r, i in enumerate(ids)}  # type: ignore[arg-type]
        rows: list[tuple[str, dict[str, Any]]] = []
        for vname, fn in vs.items():
            if only and not any(vname.startswith(o) for o in only):
                continue
            qs = [relisted(q, fn(q), ids, row) for q in d.queries]  # type: ignore[arg-type]
            vals: dict[str, Any] = {}
            for g, sub in groups(name, qs).items():
                if g == "sample1000":
                    continue
                vals[f"{g} bm25"] = mrr_of(sub, [q.bm25 for q in sub])
                for p in params:
                    vals[f"{g} cc{p.alpha}"] = mrr_of(
                        sub,
                        [
                            [
                                i
                                for i, _ in fuse(
                                    [(i, q.bm25_score[i]) for i in q.bm25], [(i, q.cosine[i]) for i in q.dense], p
                                )
                            ]
                            for q in sub
                        ],
                    )
            rows.append((vname, vals))
        print(f"\n### {name}\n\n{table(rows)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
