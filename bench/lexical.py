"""BM25 index rebuilds at the query benchmark's store sizes, side by side in one process.

The lexical index is rebuilt whenever the store changes (every ingest, upload or delete; bm25s cannot add
rows), in every replica. Two variants on the same store:
- full: every chunk tokenised by jieba (every rebuild before the token cache; still the very first build);
- cached: the same rebuild with the tokens the previous build saved (`qa.lexical.TokenCache`), which is what
  a rebuild after a change costs, plus jieba for the new chunks only (~3 ms each).
Both read every chunk from Chroma first; that read is timed on its own.
- update: what a rebuild after an upload costs (`LexicalIndex.updated`): the index without the
  last 1 % of documents, updated to the whole store; only the added documents are read from Chroma.

    python -m bench.lexical          # BENCH_SIZES as bench.query (bench.common.store_sizes) (10k,100k by default; 10k when quick)
"""

from __future__ import annotations

import shutil
import time
from functools import partial
from typing import Any

from bench.common import header, log, store_sizes, write_result
from bench.stores import base_vectors, ensure_store
from qa.embeddings import model_id_for, query_model_id_for
from qa.lexical import LexicalIndex, TokenCache
from qa.retrieve import index_row, index_rows
from qa.settings import Settings
from qa.store import Store


def rebuilds(n: int) -> dict[str, Any]:
    data, _ = ensure_store(n)
    settings = Settings(data_dir=data)
    store = Store(
        settings,
        model_id_for(settings),
        int(base_vectors(settings).shape[1]),
        findings_embedder_id=query_model_id_for(settings),
    )
    t = time.perf_counter()
    rows = [index_row(r) for r in store.iter_chunks()]
    read_s = time.perf_counter() - t
    work = data.parent / "lexical_bench"
    shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {"chunks": len(rows), "chroma_read_s": round(read_s, 1)}
    for variant in ("full", "cached"):
        cache = TokenCache() if variant == "full" else TokenCache.load(work)
        t = time.perf_counter()
        index = LexicalIndex.build(rows, variant, cache.tokens)
        out[f"{variant}_build_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        index.save(work, cache)
        out[f"{variant}_save_s"] = round(time.perf_counter() - t, 2)
        out[f"{variant}_tokenised"] = cache.tokenized
        log(
            f"{n}: {variant} build {out[f'{variant}_build_s']} s (tokenised {cache.tokenized}), save {out[f'{variant}_save_s']} s"
        )
    out["cached_over_full"] = round(out["cached_build_s"] / out["full_build_s"], 3)
    # After an upload: the index without the last 1 % of documents, updated to the whole store. Reads only the
    # added documents from Chroma (the two builds above need every chunk read first: chroma_read_s).
    docs = sorted({r[1] for r in rows})
    added = set(docs[-max(1, len(docs) // 100) :])
    cache = TokenCache()
    LexicalIndex.build([r for r in rows if r[1] not in added], "before", cache.tokens).save(work, cache)
    previous, cache = LexicalIndex.load(work), TokenCache.load(work)
    assert previous is not None
    t = time.perf_counter()
    previous.updated(set(docs), "after", cache, partial(index_rows, store))
    out["update_s"] = round(time.perf_counter() - t, 2)
    out["update_added_docs"], out["update_tokenised"] = len(added), cache.tokenized
    out["update_over_read_and_cached"] = round(out["update_s"] / (read_s + out["cached_build_s"]), 3)
    log(f"{n}: update after {len(added)} added documents {out['update_s']} s (tokenised {cache.tokenized})")
    shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    result: dict[str, Any] = {**header("lexical"), "sizes": {}}
    for n in store_sizes():
        result["sizes"][str(n)] = rebuilds(n)
        write_result("lexical", result)


if __name__ == "__main__":
    main()
