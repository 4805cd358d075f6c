"""`qa eval --scale`: generate a half's library, ingest it through the normal ingest path into an embedded store,
prepare sentences as `qa serve` does, ask every question through `Answerer.ask` (what /v1/ask does) and score.

The built store is cached under <QA_DATA_DIR>/scale-cache/ (data/scale-cache/) so re-running after an answering change skips ingest. An entry
is keyed by everything its content depends on: the generated library's own fingerprint (texts and ground truth:
it changes with the bank, the common material, the generator, the seed, the split and the size), the source of
every module the ingest path imports (their import closure, found by parsing the code, so a module ingest starts
calling is covered without a list to keep), the shipped resources, the embedding model and backends, chunk
settings and library versions. The prepared sentences inside an entry carry a second key (the sentence
preparation's code: qa.sentences and what it imports, plus the functions that embed them); when only that changes
they are prepared again without re-ingest. The BM25 index is rebuilt from the store on every reuse (a few seconds).
A partly built entry (no `complete` marker) is never used; builds of one entry are serialised by a file lock.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import inspect
import json
import platform
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from ingest.pipeline import expand_paths
from qa import library as service  # its Library is the service that owns ingest (ours is the generated one)
from qa.answer import Answer, Answerer
from qa.answering import prepared
from qa.embeddings import Embedder
from qa.retrieve import open_retriever
from qa.scale.bank import Split, load_bank, load_common
from qa.scale.generate import DEFAULT_DOCS, DEFAULT_SEED, GENERATOR_VERSION, Library, generate_library
from qa.scale.parsecheck import parse_check
from qa.scale.questions import Question, build_questions
from qa.scale.score import Asked, Cited, cause, score
from qa.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("ingest", "qa")
_VERSIONS = ("chromadb", "jieba", "bm25s", "sentence-transformers", "torch", "onnxruntime", "numpy")
Progress = Callable[[str, int, int], None]
_DETAILS = 12  # false and missed units quoted per question (the counts are complete)


# --- cache keys ---------------------------------------------------------------------------------------------


def _module_file(name: str) -> Path | None:
    if name.split(".")[0] not in _PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (imports there never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in (child, *_runtime_nodes(child)))
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: Path) -> Iterator[str]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    package = package.removesuffix(".__init__")
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)  # "from qa.findings import model"


def import_closure(modules: list[str]) -> list[Path]:
    """Files of the project's modules these modules import, directly or not (and every package __init__ on the way)."""
    seen: set[Path] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            path = _module_file(".".join(parts[:i]))
            if path is not None and path not in seen:
                seen.add(path)
                todo += list(_imports(path))
    return sorted(seen)


def _hash_files(h: Any, paths: list[Path]) -> None:
    for path in paths:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())


def ingest_key(library: Library, settings: Settings, embedder: Embedder) -> str:
    h = hashlib.sha256()
    h.update(f"generator {GENERATOR_VERSION} {library.split} {library.seed} {library.fingerprint()}".encode())
    _hash_files(
        h, import_closure([service.Library.__module__, "qa.store"])
    )  # the service that owns ingest, and what it runs
    _hash_files(h, sorted(p for p in (ROOT / "qa" / "resources").rglob("*") if p.is_file()))
    if settings.taxonomy is not None and settings.taxonomy.is_file():  # a custom taxonomy, should ingest ever read it
        h.update(settings.taxonomy.read_bytes())
    h.update(
        f"{embedder.model_id} {embedder.query_model_id} {settings.chunk_size} {settings.chunk_overlap} {settings.collection}".encode()
    )
    for name in _VERSIONS:
        try:
            h.update(f"{name} {metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name} -".encode())
    h.update(platform.python_version().encode())
    return h.hexdigest()


def sentences_key(ingest: str) -> str:
    """The code that decides what a prepared sentence holds: qa.sentences (and what it imports), the pass that
    prepares them (qa.answering.prepared) and the sentence embedding it calls (SentenceVectors)."""
    from qa.evidence import SentenceVectors

    h = hashlib.sha256(ingest.encode())
    _hash_files(h, import_closure(["qa.sentences"]))
    for obj in (prepared, SentenceVectors):
        h.update(inspect.getsource(obj).encode())
    return h.hexdigest()


# --- building and reusing a store -----------------------------------------------------------------------------


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_corpus(library: Library, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for d in library.docs:
        (directory / d.file).write_text(d.text, encoding="utf-8")


def _build(entry: Path, library: Library, settings: Settings, embedder: Embedder, progress: Progress) -> dict[str, Any]:
    """Ingest the library into entry/store; returns the parse check and the ingest time."""
    if entry.exists():
        shutil.rmtree(entry)  # a build that did not finish
    corpus = entry / "corpus"
    _write_corpus(library, corpus)
    (entry / "manifest.json").write_text(json.dumps(library.manifest(), ensure_ascii=False, indent=1), encoding="utf-8")
    progress("解析检查", 0, len(library.docs))
    checked = parse_check(library, settings)
    progress("导入", 0, len(library.docs))
    retriever = open_retriever(settings.model_copy(update={"data_dir": entry / "store"}), embedder)
    done = [0]

    def on_file(_: str) -> None:
        done[0] += 1
        progress("导入", done[0], len(library.docs))

    report = service.Library.of(retriever).ingest_files(
        expand_paths([corpus]), manifest=library.manifest(), on_file=on_file
    )
    if report.failed or len(report.new) != len(library.docs):
        raise RuntimeError(f"规模评测语料导入失败：{report.failed[:3]}")
    built = {"parse": checked, "ingest_s": round(report.seconds, 1), "chunks": report.chunks}
    (entry / "build.json").write_text(json.dumps(built, ensure_ascii=False, indent=1), encoding="utf-8")
    return built


def _prune(cache_root: Path, prefix: str, keep: Path, limit: int = 2) -> None:
    """Entries of the same split/size/seed under other keys: the newest `limit` stay (a reverted change reuses them)."""
    others = sorted(
        (p for p in cache_root.glob(f"{prefix}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[limit:]:
        shutil.rmtree(old, ignore_errors=True)


def _prefix(split: Split, n_docs: int, seed: int) -> str:
    return f"{split}-{n_docs}-{seed}"


def latest_store(
    settings: Settings, split: Split = "tuning", n_docs: int = DEFAULT_DOCS, seed: int = DEFAULT_SEED
) -> Path | None:
    """The store of the newest complete cache entry `qa eval --scale` built for this half, size and seed (what the
    tuning scripts read); None when there is none."""
    entries = sorted(
        (settings.data_dir / "scale-cache").glob(f"{_prefix(split, n_docs, seed)}-*/complete"),
        key=lambda p: p.stat().st_mtime,
    )
    return entries[-1].parent / "store" if entries else None


def asked_of(ans: Answer, seconds: float) -> Asked:
    by_id = {c.id: c for c in ans.citations}
    units = ans.units or []
    cited = tuple(
        Cited(u.unit, by_id[i].hit.doc.source, by_id[i].text) for u in units for i in u.citation_ids if i in by_id
    )
    related = tuple(
        Cited(u.unit, by_id[u.citation_ids[0]].hit.doc.source, by_id[u.citation_ids[0]].text)
        for u in ans.related
        if u.citation_ids and u.citation_ids[0] in by_id
    )
    return Asked(ans.kind, tuple(u.unit for u in units), cited, related, seconds)


def _library_stats(library: Library) -> dict[str, Any]:
    reports = [d for d in library.docs if d.kind != "其他"]
    years_per_unit = Counter(d.unit for d in reports)
    usage = Counter((p.topic, p.text) for d in library.docs for p in d.planted if p.category == "problem")
    return {
        "documents": len(library.docs),
        "reports": len(reports),
        "other_documents": len(library.docs) - len(reports),
        "units": len(years_per_unit),
        "units_with_several_reports": sum(n > 1 for n in years_per_unit.values()),
        "by_kind": dict(Counter(d.kind for d in library.docs)),
        "topics_stated_per_report": dict(sorted(Counter(len(d.stated) for d in reports).items())),
        "wording_uses_min": min(usage.values(), default=0),
        "wording_uses_max": max(usage.values(), default=0),
        "characters_mean": round(sum(len(d.text) for d in library.docs) / len(library.docs)),
    }


def _details(
    q: Question, asked: Asked, row: dict[str, Any], library: Library, neighbours: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    """Question text, false units with what was cited, missed units with what their reports say (tuning only;
    the first _DETAILS of each)."""
    docs = library.by_file()
    false = [
        {
            "unit": c.unit,
            "source": c.source,
            "cited": c.text,
            "cause": cause(docs[c.source], q.topic, c.text, neighbours) if c.source in docs else "unknown",
        }
        for c in asked.cited
        if c.source in row["wrong_docs"]
    ]
    missed = [
        {
            "unit": d.unit,
            "year": d.year,
            "source": d.file,
            "states": [p.text for p in d.planted if p.category == "problem" and p.topic == q.topic],
        }
        for d in docs.values()
        if d.unit in row["missed_units"] and q.topic in d.stated and q.admits(d)
    ]
    return {"question": q.text, "false": false[:_DETAILS], "missed": missed[:_DETAILS]}


def run_scale(
    split: Split,
    settings: Settings,
    embedder: Embedder,
    n_docs: int = DEFAULT_DOCS,
    seed: int = DEFAULT_SEED,
    *,
    cache_root: Path | None = None,
    use_cache: bool = True,
    progress: Progress = lambda stage, done, total: None,
) -> dict[str, Any]:
    started = time.perf_counter()
    cache_root = cache_root or settings.data_dir / "scale-cache"
    bank = load_bank(split)
    library = generate_library(bank, load_common(), n_docs, seed)
    questions = build_questions(bank, library)
    generated = time.perf_counter()
    key = ingest_key(library, settings, embedder)
    prefix = _prefix(split, n_docs, seed)
    entry = cache_root / f"{prefix}-{key[:16]}"
    if not use_cache:
        entry = cache_root / f"nocache-{prefix}-{time.time_ns()}"
    with _locked(cache_root / f"{prefix}.lock"):
        hit = use_cache and (entry / "complete").exists()
        if hit:
            built = json.loads((entry / "build.json").read_text(encoding="utf-8"))
            shutil.rmtree(entry / "store" / "lexical", ignore_errors=True)
        else:
            built = _build(entry, library, settings, embedder, progress)
            (entry / "complete").write_text(key)
        ingested = time.perf_counter()
        s_key = sentences_key(key)
        stamp = entry / "sentences.key"
        if not stamp.exists() or stamp.read_text() != s_key:
            shutil.rmtree(entry / "store" / "sentences", ignore_errors=True)
        retriever = open_retriever(settings.model_copy(update={"data_dir": entry / "store"}), embedder)
        answerer = Answerer(retriever)
        progress("句子", 0, 0)
        prepared.prepare_sentences(answerer.ctx, progress=lambda done, total: progress("句子", done, total))
        stamp.write_text(s_key)
        sentences_ready = time.perf_counter()
        answerer.warm()  # as `qa serve` does before its first question
        asked: list[Asked] = []
        for n, q in enumerate(questions):
            progress("提问", n, len(questions))
            t0 = time.perf_counter()
            ans = answerer.ask(q.text)
            asked.append(asked_of(ans, time.perf_counter() - t0))
        finished = time.perf_counter()
    if use_cache:
        _prune(cache_root, prefix, entry)
    else:
        shutil.rmtree(entry, ignore_errors=True)
    neighbours = {t.id: t.neighbours for t in bank.topics}
    scored = score(questions, asked, library, neighbours)
    if split == "tuning":  # the reporting half is never shown as text (eval_sets/scale/README.md)
        for q, a, row in zip(questions, asked, scored["rows"]):
            row |= _details(q, a, row, library, neighbours)
    return {
        "split": split,
        "docs": n_docs,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "questions": len(questions),
        "chunks": built["chunks"],
        "library": _library_stats(library),
        "scale": scored["overall"],
        "by_frame": scored["by_frame"],
        "by_topic": scored["by_topic"],
        "near_miss": scored["near_miss"],
        "parse": built["parse"],
        "timing": {
            "cache_hit": hit,
            "generate_s": round(generated - started, 1),
            "ingest_s": 0.0 if hit else built["ingest_s"],
            "build_s": round(ingested - generated, 1),
            "sentences_s": round(sentences_ready - ingested, 1),
            "questions_s": round(finished - sentences_ready, 1),
            "total_s": round(time.perf_counter() - started, 1),
        },
        "cache": str(entry) if use_cache else None,
        "rows": scored["rows"],
    }
