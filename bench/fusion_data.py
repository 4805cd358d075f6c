"""Candidate dumps for offline fusion experiments (issue 19; docs/evaluation.md "Hybrid ranking").

    .venv/bin/python -m bench.fusion_data dev test cmrc2018 stard   # writes bench/cache/fusion/<set>.pkl.gz

For every query of a set: the BM25 and the dense candidate lists (ids and scores, DEPTH each side, exactly as
the service's retriever returns them), the BM25 score and the cosine of every candidate of either list (so
score fusions need no imputation unless they choose to), and the relevant ids. A fusion variant is then
scored in seconds (bench/fusion_explore.py) instead of re-running the store.

Sets: `dev`, `test` (eval_sets/*.jsonl over samples/; a hit is a chunk containing a gold quote, as `qa eval`)
and the BEIR sets under ../shared/benchmarks (one document = one chunk, as `qa eval --beir`). BEIR queries are
split in two halves by a hash of the query id (`half`): "tune" for design choices, "report" for numbers.

Passage vectors of the BEIR corpora are cached under bench/cache/fusion/vectors-<set>.npz, computed by the
same encoder calls as `qa.evaluate.load_beir_into` (256 texts a call), so the store is the one `qa eval`
builds; query vectors are cached one query per call, as the service embeds them.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import common  # noqa: F401  (thread settings before numpy/torch)
from bench.common import CACHE, ROOT, log

OUT = CACHE / "fusion"
BENCHMARKS = (
    ROOT.parent.parent / "shared" / "benchmarks"
    if (ROOT.parent.parent / "shared").is_dir()
    else Path("/work/shared/benchmarks")
)
DEPTH = 100  # candidates kept per side


def half_of(query_id: str) -> str:
    """Deterministic tuning / reporting split of a benchmark's queries."""
    return "tune" if hashlib.sha1(query_id.encode("utf-8")).digest()[0] % 2 == 0 else "report"


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class VectorCache:
    """text key → vector, one .npz file; `add`/`save` are explicit so a crash loses only the unsaved part."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as f:
                self.vectors = dict(zip(f["keys"].tolist(), f["vectors"]))
        self._dirty = False

    def get(self, text: str) -> np.ndarray | None:
        return self.vectors.get(_key(text))

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for t, v in zip(texts, vectors):
            self.vectors[_key(t)] = v
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        keys = list(self.vectors)
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        tmp.rename(self.path)
        self._dirty = False


class CachedEmbedder:
    """The service's Embedder with cached vectors: passages by call (a call with any uncached text is encoded
    whole, so batches are composed as without the cache), queries one at a time."""

    def __init__(self, embedder: Any, passages: VectorCache, queries: VectorCache) -> None:
        self._embedder = embedder
        self.passages = passages
        self.queries = queries

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        found = [self.passages.get(t) for t in texts]
        if texts and all(v is not None for v in found):
            return np.stack(found)  # type: ignore[arg-type]
        vectors = self._embedder.encode(texts)
        self.passages.add(texts, vectors)
        return vectors

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        out = []
        for t in texts:
            v = self.queries.get(t)
            if v is None:
                v = self._embedder.encode_queries([t])[0]
                self.queries.add([t], v[None, :])
            out.append(v)
        return np.stack(out) if out else np.zeros((0, self._embedder.dimension), dtype=np.float32)


@dataclass
class Query:
    id: str
    text: str
    half: str  # "dev" / "test" for the eval sets, "tune" / "report" for BEIR
    relevant: frozenset[str]
    bm25: list[str]  # best first, DEPTH at most
    dense: list[str]
    bm25_score: dict[str, float]  # every candidate of either side (0: no query token in it)
    cosine: dict[str, float]  # every candidate of either side
    sampled: bool = False  # BEIR: in `qa eval --limit-queries 1000 --seed 13`'s sample
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dump:
    name: str
    queries: list[Query]
    chunks: dict[str, tuple[str, dict[str, Any]]]  # id → (text, metadata) of every chunk of the library
    vectors: dict[str, np.ndarray] | None = None  # id → passage vector (BEIR and eval sets)
    meta: dict[str, Any] = field(default_factory=dict)


def dump_path(name: str) -> Path:
    return OUT / f"{name}.pkl.gz"


def save(d: Dump) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = dump_path(d.name)
    with gzip.open(path, "wb", compresslevel=3) as fh:
        pickle.dump(d, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load(name: str, variant: str = "") -> Dump:
    """A saved dump; `variant`: a subfolder of older dumps (e.g. "nophrase": before the phrase bonus)."""
    with gzip.open((OUT / variant if variant else OUT) / f"{name}.pkl.gz", "rb") as fh:
        return _Unpickler(fh).load()  # our own cache file


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class("bench.fusion_data" if module == "__main__" else module, name)


def candidates(
    retriever: Any, text: str, vectors: dict[str, np.ndarray], depth: int = DEPTH
) -> tuple[list[str], list[str], dict[str, float], dict[str, float]]:
    """BM25 and dense candidate lists as the service computes them, plus both scores of every candidate."""
    from qa.retrieve import Filters

    bm25 = retriever._bm25_ranked(text, depth, Filters())
    qvec = retriever.queries.encode(text)
    dense = retriever.store.query_ids(qvec, depth, None)
    index = retriever.lexical()
    union = list(dict.fromkeys([i for i, _ in bm25] + [i for i, _ in dense]))
    scores = index.scores(text, phrase_weight=retriever.settings.phrase_weight)
    rows = index.rows_of(union)
    bm25_score = {i: (float(scores[r]) if scores is not None and r >= 0 else 0.0) for i, r in zip(union, rows)}
    for i, s in bm25:
        assert abs(bm25_score[i] - s) < 1e-4, (i, s, bm25_score[i])
        bm25_score[i] = s
    cosine = {i: float(np.dot(vectors[i], qvec)) for i in union}
    for i, s in dense:
        cosine[i] = s  # the store's own value (HNSW distances are float32)
    return [i for i, _ in bm25], [i for i, _ in dense], bm25_score, cosine


def all_vectors(store: Any) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    offset = 0
    while True:
        page = store.chunks.get(include=["embeddings"], limit=5000, offset=offset)
        if not page["ids"]:
            return out
        out.update(zip(page["ids"], np.asarray(page["embeddings"], dtype=np.float32)))
        offset += len(page["ids"])


# --- eval sets ----------------------------------------------------------------------------------------------


def eval_store(settings: Any, embedder: Any, tmp: Path) -> Any:
    from ingest.pipeline import expand_paths
    from qa.evaluate import throwaway_retriever
    from qa.library import Library

    retriever = throwaway_retriever(settings, embedder, tmp)
    Library.of(retriever).ingest_files(expand_paths([ROOT / "samples"]))
    return retriever


def build_eval_sets(names: Sequence[str], settings: Any, embedder: Any, tmp: Path) -> list[Dump]:
    from qa.evaluate import load_eval_set, standalone_queries

    retriever = eval_store(settings, embedder, tmp)
    chunks = {r.id: (r.text, r.metadata) for r in retriever.store.iter_chunks()}
    vectors = all_vectors(retriever.store)
    dumps = []
    for name in names:
        items = load_eval_set(ROOT / "eval_sets" / f"{name}.jsonl")
        texts = standalone_queries(items, retriever)
        queries = []
        for item, text in zip(items, texts):
            if not item.gold_quotes:
                continue  # as qa.evaluate.score_retrieval
            relevant = frozenset(i for i, (t, _) in chunks.items() if any(q in t for q in item.gold_quotes))
            b, d, bs, cs = candidates(retriever, text, vectors)
            queries.append(
                Query(
                    item.id,
                    text,
                    name,
                    relevant,
                    b,
                    d,
                    bs,
                    cs,
                    extra={"kind": item.kind, "tags": item.tags, "quotes": item.gold_quotes},
                )
            )
        dumps.append(Dump(name, queries, chunks, vectors, {"chunks": len(chunks)}))
        log(f"{name}: {len(queries)} queries with gold quotes, {len(chunks)} chunks")
    return dumps


# --- BEIR ----------------------------------------------------------------------------------------------------


def beir_store(name: str, settings: Any, embedder: Any, tmp: Path) -> tuple[Any, Any]:
    """(BEIR data, retriever over it) with cached vectors."""
    from qa.evaluate import load_beir, load_beir_into, throwaway_retriever

    beir = load_beir(BENCHMARKS / name)
    passages = VectorCache(OUT / f"vectors-{name}.npz")
    qcache = VectorCache(OUT / f"queries-{name}.npz")
    cached = CachedEmbedder(embedder, passages, qcache)
    retriever = throwaway_retriever(settings, cached, tmp)
    started = time.time()
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done % 2560 < n or done == len(beir.corpus):
            passages.save()
            log(f"{name}: {done}/{len(beir.corpus)} documents ({time.time() - started:.0f} s)")

    load_beir_into(beir, retriever, progress=progress)
    passages.save()
    return beir, retriever


def build_beir(name: str, settings: Any, embedder: Any, tmp: Path) -> Dump:
    from qa.evaluate import sample_queries

    beir, retriever = beir_store(name, settings, embedder, tmp)
    qcache = retriever.embedder.queries
    vectors = all_vectors(retriever.store)
    sampled = set(sample_queries(beir, 1000, 13))
    queries = []
    for n, qid in enumerate(sorted(beir.queries)):
        text = beir.queries[qid]
        b, d, bs, cs = candidates(retriever, text, vectors)
        queries.append(Query(qid, text, half_of(qid), frozenset(beir.qrels[qid]), b, d, bs, cs, sampled=qid in sampled))
        if n % 500 == 499:
            qcache.save()
            log(f"{name}: {n + 1}/{len(beir.queries)} queries")
    qcache.save()
    chunks = {i: (text, {"title": title}) for i, (title, text) in beir.corpus.items()}
    return Dump(name, queries, chunks, vectors, {"documents": len(beir.corpus)})


# --- pseudo-queries (qa/tuning.py) ------------------------------------------------------------------------------


def build_pseudo(library: str, retriever: Any, limit: int, seeds: Sequence[int], keep: float = 0.0) -> Path:
    """The self-tuning's pseudo-query samples of a library (DEPTH candidates each side), one list per seed."""
    from qa.tuning import pseudo_samples

    out = {}
    for seed in seeds:
        started = time.time()
        out[seed] = pseudo_samples(retriever, limit, DEPTH, seed, keep)
        log(f"{library}: {len(out[seed])} pseudo-queries, seed {seed} ({time.time() - started:.0f} s)")
    path = OUT / f"pseudo-{library}-k{keep:g}.pkl.gz"
    with gzip.open(path, "wb", compresslevel=3) as fh:
        pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_pseudo(library: str, variant: str = "", keep: float = 0.0) -> dict[int, list[Any]]:
    with gzip.open((OUT / variant if variant else OUT) / f"pseudo-{library}-k{keep:g}.pkl.gz", "rb") as fh:
        return _Unpickler(fh).load()  # our own cache file


# --- check against the service ------------------------------------------------------------------------------


def verify(
    d: Dump, search: Callable[[str, str], list[str]], fusion: Any, modes: Sequence[str] = ("bm25", "dense", "hybrid")
) -> dict[str, tuple[float, float]]:
    """MRR@10 of each mode from the live retriever and from the dump (its fusion `fusion`, offline); equal or bust."""
    from bench.fusion_explore import mrr_of
    from qa.fusion import fuse

    def fused(q: Query) -> list[str]:
        return [i for i, _ in fuse([(i, q.bm25_score[i]) for i in q.bm25], [(i, q.cosine[i]) for i in q.dense], fusion)]

    out = {}
    for mode in modes:
        live = [search(q.text, mode) for q in d.queries]
        offline = [
            q.bm25[:10] if mode == "bm25" else q.dense[:10] if mode == "dense" else fused(q)[:10] for q in d.queries
        ]
        out[mode] = (mrr_of(d.queries, live), mrr_of(d.queries, offline))
        differ = [
            q.id
            for q, a, b in zip(d.queries, live, offline)
            if list(dict.fromkeys(a))[:10] != list(dict.fromkeys(b))[:10]
        ]
        if differ:
            log(f"{d.name} {mode}: {len(differ)} queries differ from the live ranking, e.g. {differ[:5]}")
    return out


def main(argv: list[str] | None = None) -> int:
    from qa.embeddings import Embedder
    from qa.settings import Settings

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sets", nargs="+", choices=["dev", "test", "cmrc2018", "stard"])
    p.add_argument("--no-verify", action="store_true", help="skip the check against the live retriever")
    p.add_argument(
        "--pseudo", type=int, default=0, help="also dump this many pseudo-queries per library and seed (qa/tuning.py)"
    )
    p.add_argument("--seeds", default="19", help="comma-separated sampling seeds for --pseudo")
    p.add_argument(
        "--keep", default="0", help="comma-separated shares of the query's words left in the target (qa/tuning.py)"
    )
    p.add_argument(
        "--only-pseudo", action="store_true", help="dump pseudo-queries only (the real queries' dump exists)"
    )
    args = p.parse_args(argv)
    seeds = [int(x) for x in args.seeds.split(",")]
    settings = Settings()
    embedder = Embedder(settings)
    eval_names = [s for s in args.sets if s in ("dev", "test")]
    with tempfile.TemporaryDirectory(prefix="fusion-data-") as tmp:
        if eval_names:
            if not args.only_pseudo:
                dumps = build_eval_sets(eval_names, settings, embedder, Path(tmp) / "eval")
                for d in dumps:
                    log(f"wrote {save(d)}")
            retriever = eval_store(settings, embedder, Path(tmp) / "eval") if args.only_pseudo else None
            if retriever is None:
                from qa.evaluate import throwaway_retriever

                retriever = throwaway_retriever(settings, embedder, Path(tmp) / "eval")
            if not args.no_verify and not args.only_pseudo:
                for d in dumps:
                    log(
                        f"{d.name} verify: {verify(d, lambda q, m: [h.id for h in retriever.search(q, mode=m, top_k=10)], retriever.fusion())}"
                    )  # type: ignore[arg-type]
            if args.pseudo:
                log(
                    f"wrote {[build_pseudo('samples', retriever, args.pseudo, seeds, float(k)) for k in args.keep.split(',')]}"
                )
        for name in args.sets:
            if name in eval_names:
                continue
            if args.only_pseudo:
                _, retriever = beir_store(name, settings, embedder, Path(tmp) / name)
            else:
                d = build_beir(name, settings, embedder, Path(tmp) / name)
                log(f"wrote {save(d)}")
                from qa.evaluate import throwaway_retriever

                cached = CachedEmbedder(
                    embedder, VectorCache(OUT / f"vectors-{name}.npz"), VectorCache(OUT / f"queries-{name}.npz")
                )
                retriever = throwaway_retriever(settings, cached, Path(tmp) / name)
                if not args.no_verify:
                    log(
                        f"{name} verify: {verify(d, lambda q, m: [h.doc.doc_id for h in retriever.search(q, mode=m, top_k=10)], retriever.fusion())}"
                    )  # type: ignore[arg-type]
            if args.pseudo:
                log(
                    f"wrote {[build_pseudo(name, retriever, args.pseudo, seeds, float(k)) for k in args.keep.split(',')]}"
                )
                retriever.embedder.passages.save()
                retriever.embedder.queries.save()
    return 0


if __name__ == "__main__":
    # Run through the imported module, so pickled dumps refer to bench.fusion_data classes, not __main__'s.
    from bench.fusion_data import main as _main

    sys.exit(_main())
