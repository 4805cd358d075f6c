"""`qa eval`: retrieval and answer quality on eval sets (DESIGN.md §6) and on BEIR-format benchmarks.

Each retrieval mode (bm25, dense, hybrid, and the LangChain recipe as a baseline) runs the same questions
over the same corpus in a throwaway store, so numbers are comparable side by side. Answer metrics come from
the answering pipeline itself (the extractive composer over hybrid retrieval).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.pipeline import PreparedDoc, expand_paths
from ingest.schema import DEFAULT_REPORT_KIND, ChunkMeta, ChunkRow, DocFields, DocRecord
from qa.answer import Answer, Answerer
from qa.answering.prepared import prepare_sentences
from qa.embeddings import Embedder
from qa.library import Library
from qa.metrics import mean, mrr_at_k, ndcg_at_k, percentile, precision_recall_f1, recall_of_items
from qa.retrieve import MODES, Retriever, open_retriever
from qa.settings import Settings
from qa.understand import Turn, understand

BASELINE = "langchain-baseline"
KS = (1, 5, 10)


class EvalError(ValueError):
    """A malformed eval set or benchmark; the message names the file and line."""


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    kind: str
    gold_sources: tuple[str, ...]
    gold_quotes: tuple[str, ...]
    answer_contains: tuple[str, ...] = ()
    history: tuple[Turn, ...] = ()
    tags: tuple[str, ...] = ()


def load_eval_set(path: Path) -> list[EvalItem]:
    """JSONL, one question a line; blank lines and lines starting with '#' (the header) are skipped."""
    items: list[EvalItem] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            row = json.loads(line)
            items.append(
                EvalItem(
                    id=str(row["id"]),
                    question=str(row["question"]),
                    kind=str(row["kind"]),
                    gold_sources=tuple(row.get("gold_sources") or ()),
                    gold_quotes=tuple(row.get("gold_quotes") or ()),
                    answer_contains=tuple(row.get("answer_contains") or ()),
                    history=tuple(Turn(t["role"], t["content"]) for t in row.get("history") or ()),
                    tags=tuple(row.get("tags") or ()),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalError(f"{path.name} 第 {n} 行格式错误：{exc}") from exc
    return items


# --- retrieval ------------------------------------------------------------------------------------------

Retrieved = list[tuple[str, str]]  # (passage text, source file / doc id), best first
SearchFn = Callable[[str], Retrieved]


@dataclass
class ModeResult:
    mode: str
    metrics: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


def score_retrieval(items: Sequence[EvalItem], queries: Sequence[str], search: SearchFn, mode: str) -> ModeResult:
    per: dict[str, list[float]] = {}
    result = ModeResult(mode)
    for item, query in zip(items, queries):
        if not item.gold_quotes:
            continue
        started = time.perf_counter()
        retrieved = search(query)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        quotes = [{q for q in item.gold_quotes if q in text} for text, _ in retrieved]
        relevant = [bool(q) for q in quotes]
        sources = [{src} for _, src in retrieved]
        values = {f"recall@{k}": recall_of_items(quotes, set(item.gold_quotes), k) for k in KS}
        values |= {f"doc_recall@{k}": recall_of_items(sources, set(item.gold_sources), k) for k in KS}
        values["mrr@10"] = mrr_at_k(relevant, 10)
        values["ndcg@10"] = ndcg_at_k([1.0 if r else 0.0 for r in relevant], [1.0] * len(item.gold_quotes), 10)
        for key, value in values.items():
            per.setdefault(key, []).append(value)
    result.metrics = {k: round(mean(v), 4) for k, v in per.items()}
    result.metrics["latency_p50_ms"] = round(percentile(result.latencies_ms, 50), 1)
    result.metrics["latency_p95_ms"] = round(percentile(result.latencies_ms, 95), 1)
    return result


def mode_search(retriever: Retriever, mode: str, k: int = 10) -> SearchFn:
    def search(query: str) -> Retrieved:
        return [(h.text, h.doc.source) for h in retriever.search(query, mode=mode, top_k=k)]  # type: ignore[arg-type]

    return search


class _LangChainEmbeddings:
    """Our loaded model behind LangChain's Embeddings interface, so the baseline uses the same encoder."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._embedder.encode(texts).tolist()  # a 2-d float array
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self._embedder.encode_queries([text])[0].tolist()  # a 1-d float array
        return vector


def langchain_baseline(retriever: Retriever) -> SearchFn:
    """The typical LangChain recipe on the same cleaned documents: RecursiveCharacterTextSplitter 1000/200
    with its default separators, the same embedder, Chroma similarity search top-4."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = []
    for record in retriever.store.catalogue():
        found = retriever.store.get_document(record.doc.doc_id)
        if found:
            docs.append(Document(page_content=found[1], metadata={"source": record.doc.source}))
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = Chroma.from_documents(
        chunks,
        # Duck-typed, not a subclass of LangChain's Embeddings (that would import langchain with this module):
        # Chroma calls only embed_documents and embed_query.
        _LangChainEmbeddings(retriever.embedder),  # type: ignore[arg-type]
        client=chromadb.EphemeralClient(),
        collection_name=f"baseline-{time.time_ns()}",
    )

    def search(query: str) -> Retrieved:
        return [(d.page_content, str(d.metadata["source"])) for d in store.similarity_search(query, k=4)]

    return search


# --- answers ---------------------------------------------------------------------------------------------


_MARKER = re.compile(r"\[(\d+)\]")


def citation_precision(ans: Answer, doc_text: Callable[[str], str]) -> tuple[int, int]:
    """(supported, total) answer sentences: a sentence with markers is supported when each cited passage is
    really at its offsets in the document and contains the sentence's quoted text. Markers with no text of their
    own (a declined answer's "以下是最接近的段落，供参考：[1][2][3]") are a list of references, not a claim."""
    by_id = {c.id: c for c in ans.citations}
    supported = total = 0
    for line in ans.answer.splitlines():
        for piece in re.findall(r"[^\[\]]+?(?:\[\d+\])+", line):
            ids = [int(i) for i in _MARKER.findall(piece)]
            claim = _MARKER.sub("", piece).split("：")[-1].strip(" 。；")
            if not claim:
                continue
            total += 1
            ok = all(
                i in by_id
                and doc_text(by_id[i].hit.doc.doc_id)[by_id[i].char_start : by_id[i].char_end] == by_id[i].text
                for i in ids
            ) and any(claim and claim in by_id[i].text for i in ids if i in by_id)
            supported += ok
    return supported, total


def score_answers(items: Sequence[EvalItem], answerer: Answerer) -> tuple[dict[str, float], list[dict[str, Any]]]:
    texts: dict[str, str] = {}

    def doc_text(doc_id: str) -> str:
        if doc_id not in texts:
            found = answerer.retriever.store.get_document(doc_id)
            texts[doc_id] = found[1] if found else ""
        return texts[doc_id]

    unit_p, unit_r, unit_f, contains, cited_contains, declined, latencies = [], [], [], [], [], [], []
    cited_ok = cited_total = 0
    rows: list[dict[str, Any]] = []
    for item in items:
        started = time.perf_counter()
        ans = answerer.ask(item.question, item.history)
        latencies.append((time.perf_counter() - started) * 1000)
        row: dict[str, Any] = {"id": item.id, "kind": ans.kind, "expected": item.kind}
        if item.kind == "aggregate":
            predicted = {u.source for u in ans.units or []}
            p, r, f = precision_recall_f1(predicted, set(item.gold_sources))
            unit_p.append(p)
            unit_r.append(r)
            unit_f.append(f)
            row |= {"predicted": sorted(predicted), "gold": sorted(item.gold_sources), "f1": round(f, 3)}
        elif item.kind == "lookup" and item.answer_contains:
            ok = all(s in ans.answer for s in item.answer_contains)
            contains.append(1.0 if ok else 0.0)
            # ... and one cited passage (a table row, a sentence) holds all of it: the answer is where it says.
            cited = ok and any(all(s in c.text for s in item.answer_contains) for c in ans.citations)
            cited_contains.append(1.0 if cited else 0.0)
            row |= {"contains": ok, "cited_contains": cited}
        elif item.kind == "unanswerable":
            ok = ans.kind == "unanswerable" or (ans.kind == "aggregate" and not ans.units)
            declined.append(1.0 if ok else 0.0)
            row |= {"declined": ok}
        s, t = citation_precision(ans, doc_text)
        cited_ok, cited_total = cited_ok + s, cited_total + t
        rows.append(row)
    metrics = {
        "unit_precision": mean(unit_p),
        "unit_recall": mean(unit_r),
        "unit_f1": mean(unit_f),
        "answer_contains": mean(contains),
        "cited_contains": mean(cited_contains),
        "unanswerable_declined": mean(declined),
        "citation_precision": cited_ok / cited_total if cited_total else 0.0,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    return {k: round(v, 4) for k, v in metrics.items()}, rows


# --- runs -------------------------------------------------------------------------------------------------


def standalone_queries(items: Sequence[EvalItem], retriever: Retriever) -> list[str]:
    """What retrieval sees: follow-ups resolved against their history, as the service would."""
    catalogue = list(retriever.catalogue().values())
    return [understand(i.question, i.history, catalogue).standalone if i.history else i.question for i in items]


def self_tune(retriever: Retriever) -> dict[str, Any]:
    """As the service does after an ingest: the library chooses its fusion weight (unless QA_FUSION_TUNING=false).
    Returns what the hybrid mode will use, for the report."""
    if retriever.settings.fusion_tuning:
        from qa.tuning import tune

        tune(retriever)
    return retriever.fusion_summary()


def throwaway_retriever(settings: Settings, embedder: Embedder, directory: Path) -> Retriever:
    return open_retriever(settings.model_copy(update={"data_dir": directory}), embedder)


def run_eval_set(
    items: Sequence[EvalItem],
    corpus: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    modes: Sequence[str],
    answers: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        retriever = throwaway_retriever(settings, embedder, Path(tmp))
        report = Library.of(retriever).ingest_files(expand_paths(corpus))
        if report.failed:
            raise EvalError(f"语料导入失败：{report.failed}")
        fusion = self_tune(retriever)
        queries = standalone_queries(items, retriever)
        results: dict[str, Any] = {
            "questions": len(items),
            "chunks": retriever.store.count_chunks(),
            "fusion": fusion,
            "modes": {},
        }
        for mode in modes:
            progress(mode)
            search = langchain_baseline(retriever) if mode == BASELINE else mode_search(retriever, mode)
            results["modes"][mode] = score_retrieval(items, queries, search, mode).metrics
        if answers:
            progress("answers")
            answerer = Answerer(retriever)
            prepare_sentences(
                answerer.ctx
            )  # as `qa serve` does in the background: answers come from prepared sentences
            results["answers"], results["answer_rows"] = score_answers(items, answerer)
        return results


# --- BEIR -----------------------------------------------------------------------------------------------------


@dataclass
class Beir:
    corpus: dict[str, tuple[str, str]]  # id → (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, float]]  # query id → doc id → gain


def _read_lines(path: Path) -> Iterable[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        yield from fh


def load_beir(directory: Path) -> Beir:
    corpus_path = next((directory / n for n in ("corpus.jsonl.gz", "corpus.jsonl") if (directory / n).exists()), None)
    qrels_path = next((p for p in (directory / "qrels.tsv", directory / "qrels" / "test.tsv") if p.exists()), None)
    queries_path = next(
        (directory / n for n in ("queries.jsonl.gz", "queries.jsonl") if (directory / n).exists()), None
    )
    if corpus_path is None or queries_path is None or qrels_path is None:
        raise EvalError(f"{directory} 不是 BEIR 格式目录（需要 corpus.jsonl[.gz]、queries.jsonl、qrels.tsv）")
    corpus = {}
    for line in _read_lines(corpus_path):
        if line.strip():
            row = json.loads(line)
            corpus[str(row["_id"])] = (str(row.get("title") or ""), str(row.get("text") or ""))
    queries = {str(r["_id"]): str(r["text"]) for r in map(json.loads, filter(str.strip, _read_lines(queries_path)))}
    qrels: dict[str, dict[str, float]] = {}
    for n, line in enumerate(_read_lines(qrels_path)):
        parts = line.strip().split("\t")
        if len(parts) < 3 or (n == 0 and not parts[2].replace(".", "").lstrip("-").isdigit()):
            continue  # header line ("query-id corpus-id score") or blank
        if float(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = float(parts[2])
    return Beir(corpus, {q: t for q, t in queries.items() if q in qrels}, qrels)


def load_beir_into(
    beir: Beir, retriever: Retriever, batch: int = 256, progress: Callable[[int], None] = lambda _: None
) -> None:
    """Each BEIR document becomes one committed document with one chunk (statute articles are short), stored under
    the document's own id."""
    library = Library.of(retriever)
    ids = list(beir.corpus)
    no_findings = np.zeros((0, retriever.embedder.dimension), dtype=np.float32)
    for start in range(0, len(ids), batch):
        docs = []
        for doc_id in ids[start : start + batch]:
            title, text = beir.corpus[doc_id]
            fields = DocFields(doc_id, doc_id, title, "", "", None, DEFAULT_REPORT_KIND)
            meta = ChunkMeta(fields, section="", section_role="other", char_start=0, char_end=len(text), chunk_index=0)
            row = ChunkRow(doc_id, text, meta.to_metadata())
            docs.append(PreparedDoc(DocRecord(fields, "beir", 1, 0.0), text, [row], [f"{title}\n{text}".strip()]))
        library.write(docs, retriever.embedder.encode([t for d in docs for t in d.index_texts]), no_findings)
        progress(len(docs))


def score_beir(beir: Beir, query_ids: Sequence[str], search: Callable[[str], list[str]]) -> dict[str, float]:
    per: dict[str, list[float]] = {}
    latencies: list[float] = []
    for qid in query_ids:
        started = time.perf_counter()
        docs = list(dict.fromkeys(search(beir.queries[qid])))[:10]
        latencies.append((time.perf_counter() - started) * 1000)
        gold = beir.qrels[qid]
        values = {f"recall@{k}": recall_of_items([{d} for d in docs], set(gold), k) for k in KS}
        values["mrr@10"] = mrr_at_k([d in gold for d in docs], 10)
        values["ndcg@10"] = ndcg_at_k([gold.get(d, 0.0) for d in docs], list(gold.values()), 10)
        for key, value in values.items():
            per.setdefault(key, []).append(value)
    metrics = {k: round(mean(v), 4) for k, v in per.items()}
    metrics["latency_p50_ms"] = round(percentile(latencies, 50), 1)
    metrics["latency_p95_ms"] = round(percentile(latencies, 95), 1)
    return metrics


def sample_queries(beir: Beir, limit: int | None, seed: int) -> list[str]:
    ids = sorted(beir.queries)
    if limit and limit < len(ids):
        ids = sorted(random.Random(seed).sample(ids, limit))
    return ids


def run_beir(
    directory: Path,
    settings: Settings,
    embedder: Embedder,
    modes: Sequence[str],
    limit: int | None,
    seed: int,
    progress: Callable[[str, int, int], None] = lambda *_: None,
) -> dict[str, Any]:
    beir = load_beir(directory)
    query_ids = sample_queries(beir, limit, seed)
    with tempfile.TemporaryDirectory(prefix="qa-beir-") as tmp:
        retriever = throwaway_retriever(settings, embedder, Path(tmp))
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            progress("encode", done, len(beir.corpus))

        load_beir_into(beir, retriever, progress=advance)
        progress("tuning", 0, 1)
        fusion = self_tune(retriever)
        results: dict[str, Any] = {
            "benchmark": directory.name,
            "documents": len(beir.corpus),
            "queries": len(query_ids),
            "seed": seed,
            "fusion": fusion,
            "modes": {},
        }
        for mode in modes:
            if mode == BASELINE:
                continue  # the recipe re-splits documents; BEIR articles are single passages already
            progress(mode, 0, len(query_ids))
            results["modes"][mode] = score_beir(
                beir,
                query_ids,
                lambda q, m=mode: [h.doc.doc_id for h in retriever.search(q, mode=m, top_k=10)],  # type: ignore[misc]
            )
        return results


def valid_modes(requested: Iterable[str]) -> list[str]:
    modes = [m.strip() for m in requested if m.strip()]
    unknown = [m for m in modes if m not in (*MODES, BASELINE)]
    if unknown:
        raise EvalError(f"未知的检索模式：{'、'.join(unknown)}（可选：{'、'.join((*MODES, BASELINE))}）")
    return modes
