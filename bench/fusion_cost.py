"""Per-query cost of the hybrid fusion and of the phrase bonus, old against new side by side in one run (issue 19).

    .venv/bin/python -m bench.fusion_cost     # needs bench/cache/fusion/stard.pkl.gz (python -m bench.fusion_data stard)

1. Fusion: reciprocal rank fusion of the two id lists (the service before issue 19) against the convex fusion of
   z-scores (now), on STARD's real candidate lists (50 BM25 + 58 dense per query, as `Retriever._hybrid` fuses).
2. Lexical search over the 23,944 STARD articles: BM25 alone against BM25 + word pairs (phrase bonus).
Writes bench/results/fusion_cost.json.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bench import common  # noqa: F401  (thread settings before numpy)
from bench.common import header, log, summary, write_result
from bench.fusion_data import load
from bench.fusion_lexical import base_text
from qa.fusion import FusionParams, fuse, rrf
from qa.lexical import LexicalIndex


def per_call_us(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def main() -> int:
    d = load("stard")
    lists = [([(i, q.bm25_score[i]) for i in q.bm25[:50]], [(i, q.cosine[i]) for i in q.dense[:58]]) for q in d.queries]
    params = FusionParams(alpha=0.4, depth=50)
    old: list[float] = []
    new: list[float] = []
    for _ in range(3):  # interleaved rounds: both see the same machine load
        for b, dn in lists:
            old += per_call_us(lambda: rrf([[i for i, _ in b], [i for i, _ in dn][:50]], 60, [1.0, 0.5]), 1)
            new += per_call_us(lambda: fuse(b, dn, params), 1)
    result = {
        **header("fusion_cost"),
        "queries": len(lists),
        "fusion_us": {"rrf": summary(old), "convex": summary(new)},
    }
    result["fusion_ratio_median"] = round(
        result["fusion_us"]["convex"]["median"] / result["fusion_us"]["rrf"]["median"], 2
    )
    log(
        f"fusion per query: rrf {result['fusion_us']['rrf']['median']} us, convex {result['fusion_us']['convex']['median']} us"
    )

    ids = sorted(d.chunks)
    started = time.perf_counter()
    index = LexicalIndex.build([(i, i, "", base_text(d, i)) for i in ids], "bench")
    result["index_build_s"] = round(time.perf_counter() - started, 1)
    words_only: list[float] = []
    with_pairs: list[float] = []
    for _ in range(2):
        for q in d.queries:
            words_only += per_call_us(lambda: index.search(q.text, 50, None, 0.0), 1)
            with_pairs += per_call_us(lambda: index.search(q.text, 50, None, 0.5), 1)
    result["bm25_search_ms"] = {
        "rows": len(ids),
        "words": summary([x / 1000 for x in words_only], 3),
        "words_and_pairs": summary([x / 1000 for x in with_pairs], 3),
    }
    result["bm25_ratio_median"] = round(
        result["bm25_search_ms"]["words_and_pairs"]["median"] / result["bm25_search_ms"]["words"]["median"], 2
    )
    log(
        f"BM25 search: words {result['bm25_search_ms']['words']['median']} ms, with pairs {result['bm25_search_ms']['words_and_pairs']['median']} ms"
    )
    write_result("fusion_cost", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
