"""Ingest throughput on real text, side by side in one process and one run:

- model-only: `Embedder.encode` of the chunks' index texts, all at once (the ceiling for any ingest);
- model-only, everything: the same plus the finding sentences ingest also embeds (for aggregate answers, with
  the query model as ingest does), so
  ours ÷ this separates the pipeline's own overhead from the findings' extra encoder work;
- ours: `Library.ingest_files` (read, clean, structure, chunk, embed, Chroma write, commit) + the BM25 index update
  (`Retriever.lexical()`), exactly what `qa ingest` does;
- LangChain peer: `Chroma.from_documents(docs, HuggingFaceEmbeddings(model_name=<m3e-small folder>,
  model_kwargs={"device": "cpu"}))` on the same chunk texts — the typical recipe.

Corpus: the 5 bundled samples replicated (bench.gen_corpus.real_copies: another year in every "20xx年" and a
last line naming another unit, so each copy is its own document; body paragraphs are the real ones). The run
is split in rounds; each round takes fresh copies (≈ ROUND_CHUNKS chunks) and measures the three variants on
them in rotating order, so machine noise hits all three alike. Ratios are per round; the headline throughputs
are over all rounds (≥ 2,000 chunks each in the full run).

    python -m bench.ingest          # BENCH_QUICK=1 for one short round
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, QUICK, header, log, summary, write_result
from bench.gen_corpus import real_copies
from ingest.document import RawDocument
from ingest.pipeline import prepare
from qa.embeddings import Embedder, default_model_path
from qa.ingest_run import write_behind_default
from qa.library import Library
from qa.retrieve import open_retriever
from qa.settings import Settings

ROUNDS = int(os.environ.get("BENCH_INGEST_ROUNDS", 1 if QUICK else 3))
ROUND_CHUNKS = int(os.environ.get("BENCH_INGEST_CHUNKS", 320 if QUICK else 700))


def _round_corpus(
    work: Path, round_no: int, target: int, settings: Settings
) -> tuple[list[Path], list[str], list[dict[str, Any]], list[str]]:
    """Files of this round, the index texts of their chunks, the chunk metadata (for the LangChain peer) and
    the finding sentences."""
    folder = work / f"round{round_no}"
    folder.mkdir(parents=True)
    files: list[Path] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    findings: list[str] = []
    for name, text in real_copies(copies=200, seed=1000 + round_no):
        # Round-specific names: with the bare copy names every round after the first replaced the previous
        # round's documents (same source), so it measured replace (a Chroma where-delete per old version,
        # ~20 s per round) instead of ingest.
        name = f"r{round_no}_{name}"
        path = folder / name
        path.write_text(text, encoding="utf-8")
        doc = prepare(
            RawDocument(name, text, "txt"), {}, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
        files.append(path)
        texts += doc.index_texts
        metas += [r.metadata for r in doc.rows]
        findings += doc.finding_texts
        if len(texts) >= target:
            break
    return files, texts, metas, findings


def main() -> None:
    work = CACHE / "ingest_work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    settings = Settings(data_dir=work / "ours")
    embedder = Embedder(settings)
    retriever = open_retriever(settings, embedder)

    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings

    lc_embeddings = HuggingFaceEmbeddings(model_name=str(default_model_path()), model_kwargs={"device": "cpu"})
    embedder.encode(["预热"])  # first-call costs out of the timings
    embedder.encode_queries(["预热"])
    lc_embeddings.embed_documents(["预热"])

    library = Library.of(retriever)
    overlap_store = overlap_library = None
    order = ["model", "model_all", "ours", "langchain"]
    if os.environ.get("BENCH_INGEST_OVERLAP"):  # also measure the write-behind thread (qa.ingest_run)
        overlap_store = open_retriever(Settings(data_dir=work / "ours_overlap"), embedder)
        overlap_library = Library.of(overlap_store)
        order.append("overlap")
    rounds: list[dict[str, Any]] = []
    for r in range(ROUNDS):
        files, texts, metas, finding_texts = _round_corpus(work, r, ROUND_CHUNKS, settings)
        row: dict[str, Any] = {
            "round": r,
            "files": len(files),
            "chunks": len(texts),
            "finding_sentences": len(finding_texts),
        }
        for variant in order[r % len(order) :] + order[: r % len(order)]:
            t = time.perf_counter()
            cpu = time.process_time()
            if variant == "model":
                embedder.encode(texts)
                row["model_s"] = time.perf_counter() - t
            elif variant == "model_all":
                embedder.encode(texts)
                embedder.encode_queries(finding_texts)  # as ingest does (Library.encode)
                row["model_all_s"] = time.perf_counter() - t
            elif variant == "ours":
                report = library.ingest_files(files)
                t_store = time.perf_counter()
                retriever.lexical()  # what `qa ingest` does next: bring the BM25 index up to date
                row["ours_s"] = time.perf_counter() - t
                row["ours_bm25_s"] = time.perf_counter() - t_store
                assert report.chunks == len(texts) and not report.failed, (report.chunks, len(texts), report.failed)
            elif variant == "overlap":
                assert overlap_store is not None and overlap_library is not None
                overlap_library.ingest_files(files, write_behind=True)
                overlap_store.lexical()
                row["overlap_s"] = time.perf_counter() - t
            else:
                docs = [Document(page_content=tx, metadata=m) for tx, m in zip(texts, metas)]
                Chroma.from_documents(
                    docs, lc_embeddings, collection_name=f"lc_round{r}", persist_directory=str(work / "langchain")
                )
                row["langchain_s"] = time.perf_counter() - t
            # CPU seconds of this process (all threads): unlike wall time, not inflated by other tenants.
            row[f"{variant}_cpu_s"] = time.process_time() - cpu
            log(
                f"round {r}: {variant} {time.perf_counter() - t:.1f} s ({row[f'{variant}_cpu_s']:.1f} CPU s) for {len(texts)} chunks"
            )
        for v in order:
            row[f"{v}_chunks_per_s"] = round(len(texts) / row[f"{v}_s"], 2)
        if "overlap" in order:
            row["overlap_over_model"] = round(row["overlap_chunks_per_s"] / row["model_chunks_per_s"], 3)
            row["overlap_over_model_cpu"] = round(row["model_cpu_s"] / row["overlap_cpu_s"], 3)
        row["ours_over_model"] = round(row["ours_chunks_per_s"] / row["model_chunks_per_s"], 3)
        row["ours_over_model_cpu"] = round(row["model_cpu_s"] / row["ours_cpu_s"], 3)
        row["ours_over_model_all"] = round(row["model_all_s"] / row["ours_s"], 3)
        row["langchain_over_model_cpu"] = round(row["model_cpu_s"] / row["langchain_cpu_s"], 3)
        row["langchain_over_model"] = round(row["langchain_chunks_per_s"] / row["model_chunks_per_s"], 3)
        rounds.append({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()})

    total_chunks = sum(r["chunks"] for r in rounds)
    totals = {v: round(total_chunks / sum(r[f"{v}_s"] for r in rounds), 2) for v in ("model", "ours", "langchain")}
    result = {
        **header(os.environ.get("BENCH_INGEST_NAME", "ingest")),
        "corpus": "bundled samples replicated with another year and unit line per copy (bench.gen_corpus.real_copies)",
        "chunk_size": settings.chunk_size,
        "embedder": embedder.model_id,
        "batch_size": embedder.batch_size,
        "chunks_per_variant": total_chunks,
        "chunks_per_s": totals,
        "ratio_ours_over_model": round(totals["ours"] / totals["model"], 3),
        "ratio_langchain_over_model": round(totals["langchain"] / totals["model"], 3),
        "finding_sentences": sum(r["finding_sentences"] for r in rounds),
        "ratio_model_all_over_model": round(
            sum(r["model_s"] for r in rounds) / sum(r["model_all_s"] for r in rounds), 3
        ),
        "ratio_ours_over_model_all": round(sum(r["model_all_s"] for r in rounds) / sum(r["ours_s"] for r in rounds), 3),
        "per_round_ratio_ours_over_model_all": summary([r["ours_over_model_all"] for r in rounds], 3),
        "per_round_ratio_ours": summary([r["ours_over_model"] for r in rounds], 3),
        "per_round_ratio_langchain": summary([r["langchain_over_model"] for r in rounds], 3),
        "ratio_ours_over_model_cpu": round(
            sum(r["model_cpu_s"] for r in rounds) / sum(r["ours_cpu_s"] for r in rounds), 3
        ),
        "ratio_langchain_over_model_cpu": round(
            sum(r["model_cpu_s"] for r in rounds) / sum(r["langchain_cpu_s"] for r in rounds), 3
        ),
        "write_behind": write_behind_default(),
        "rounds": rounds,
    }
    if "overlap" in order:
        result["ratio_overlap_over_model"] = round(
            sum(r["model_s"] for r in rounds) / sum(r["overlap_s"] for r in rounds), 3
        )
        result["ratio_overlap_over_model_cpu"] = round(
            sum(r["model_cpu_s"] for r in rounds) / sum(r["overlap_cpu_s"] for r in rounds), 3
        )
    write_result(os.environ.get("BENCH_INGEST_NAME", "ingest"), result)
    log(
        f"chunks/s {totals}; ours/model {result['ratio_ours_over_model']}, langchain/model {result['ratio_langchain_over_model']}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
