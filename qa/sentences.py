"""The sentences of stored chunks, prepared once: where each sentence is, its jieba tokens and its vector.

An aggregate question on a broad topic (三公经费 at 100k chunks: 7,752 reports) scores ~18,000 sentences of
~10,700 candidate chunks. Reading, splitting, tokenising and embedding them at question time took 15-50 s on a
first ask and 1.5 s on a repeat. Here that work is done once per chunk: in the background after documents are
committed (`SentencePass`, run by `qa serve`), or all at once by `qa sentences`. The results are kept on disk under
<data_dir>/sentences/<collection>/<recipe>/. Chunks not prepared yet are prepared at question time, as before.

Entries are addressed by the chunk's text key (`LexicalIndex.keys`: a hash of the text BM25 indexes, which
includes the chunk's text and section). So an entry never goes stale: a changed chunk has another key, and a
deleted chunk's entry is never asked for again. Segments are written whole, renamed into place and never
changed. Several processes on one data dir (API replicas, `qa sentences`) write and read them without
coordination; at worst an entry is computed twice. Vectors are memory-mapped and read only for the sentences
a question needs, so they do not count against the process's memory.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunking import sentence_spans
from qa.lexical import _tokenizer_fingerprint, tokenize

log = logging.getLogger("qa.sentences")
MIN_CHARS = 6  # shorter sentences ("合计。") are never evidence
# Bump when what an entry holds changes (splitting rules, token recipe): old segments are then ignored.
_RECIPE = "sentences 1"
_SEGMENT_CHUNKS = 4096  # chunks per segment written by the pass: ~26k sentences, ~40 MB of vectors


def chunk_sentences(text: str, section: str) -> list[tuple[int, int]]:
    """Spans (offsets in `text`) of a chunk's sentences that can be evidence: not too short, and not a bare
    heading of its own section ("七、存在的问题及原因分析")."""
    heading_lines = {p.strip() for p in section.split(" > ")}
    out = []
    for s, e in sentence_spans(text):
        stripped = text[s:e].strip()
        if len(stripped) >= MIN_CHARS and stripped not in heading_lines:
            out.append((s, e))
    return out


def ranges(ptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The rows ptr[i]:ptr[i+1] of every i in idx, concatenated (CSR rows of several entries at once).

    >>> ranges(np.array([0, 2, 5, 6]), np.array([2, 0])).tolist()
    [5, 0, 1]
    """
    starts, counts = ptr[idx], ptr[idx + 1] - ptr[idx]
    if not len(idx) or not counts.sum():
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts)
    return np.arange(int(counts.sum()), dtype=np.int64) + offsets


@dataclass(frozen=True)
class SentenceBatch:
    """The sentences of some chunks, column by column. Entry e (the chunk with text key keys[e]) has sentence rows
    ptr[e]:ptr[e+1]; sentence s has the distinct tokens vocab[tok_flat[tok_ptr[s]:tok_ptr[s+1]]]. `vectors` is
    None for a batch prepared at question time (its sentences are embedded on demand, from `texts`)."""

    keys: np.ndarray
    ptr: np.ndarray
    start: np.ndarray
    end: np.ndarray
    tok_ptr: np.ndarray
    tok_flat: np.ndarray
    vocab: list[str]
    vectors: np.ndarray | None = None
    texts: list[str] | None = None

    def token_ids(self, tokens: Iterable[str]) -> dict[str, int]:
        """Which of these tokens occur in this batch, with their ids."""
        if getattr(self, "_vocab_ids", None) is None:
            object.__setattr__(self, "_vocab_ids", {t: i for i, t in enumerate(self.vocab)})
        ids: dict[str, int] = self._vocab_ids  # type: ignore[attr-defined]
        return {t: ids[t] for t in tokens if t in ids}


def prepare(chunks: Iterable[tuple[int, str, str]], encode: Callable[[list[str]], np.ndarray] | None = None) -> SentenceBatch:
    """Entries for chunks given as (text key, text, section); `encode`: embeds the sentences (None: not now)."""
    keys: list[int] = []
    ptr, start, end, tok_ptr, tok_flat = [0], [], [], [0], []
    vocab: dict[str, int] = {}
    texts: list[str] = []
    memo: dict[str, list[int]] = {}  # boilerplate sentences recur across reports
    for key, text, section in chunks:
        keys.append(key)
        for s, e in chunk_sentences(text, section):
            sentence = text[s:e]
            if sentence not in memo:
                memo[sentence] = [vocab.setdefault(t, len(vocab)) for t in dict.fromkeys(tokenize(sentence))]
            start.append(s)
            end.append(e)
            tok_flat += memo[sentence]
            tok_ptr.append(len(tok_flat))
            texts.append(sentence)
        ptr.append(len(start))
    vectors = None
    if encode is not None:
        vectors = encode(texts) if texts else np.zeros((0, 0), dtype=np.float32)
    return SentenceBatch(
        np.asarray(keys, dtype=np.int64), np.asarray(ptr, dtype=np.int64), np.asarray(start, dtype=np.int32), np.asarray(end, dtype=np.int32),
        np.asarray(tok_ptr, dtype=np.int64), np.asarray(tok_flat, dtype=np.int32), list(vocab), vectors, texts,
    )


class SentenceStore:
    """Prepared sentence entries on disk, one directory per recipe (query model, tokenizer, splitting rules)."""

    def __init__(self, root: Path, query_model_id: str) -> None:
        recipe = hashlib.sha256(f"{_RECIPE}; {query_model_id}; {_tokenizer_fingerprint()}".encode()).hexdigest()[:16]
        self.directory = root / recipe
        self._lock = threading.Lock()
        self._segments: dict[str, SentenceBatch] = {}
        self._names: list[str] = []  # segment files seen (a damaged one is listed but not loaded)
        self._order: list[str] = []  # loaded segments, by number
        self._keys = np.zeros(0, dtype=np.int64)  # every entry's key, sorted; with its segment and entry number
        self._seg = np.zeros(0, dtype=np.int32)
        self._entry = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._keys)

    def refresh(self) -> None:
        """Take in segments written since the last look, by this process or another."""
        names = sorted(p.name.removesuffix(".npz") for p in self.directory.glob("seg-*.npz")) if self.directory.is_dir() else []
        if names == self._names:
            return
        with self._lock:
            segments = {n: self._segments[n] for n in names if n in self._segments}
            for n in names:
                if n not in segments:
                    batch = self._load(n)
                    if batch is not None:
                        segments[n] = batch
            order = list(segments)
            keys = [segments[n].keys for n in order]
            seg = [np.full(len(k), i, dtype=np.int32) for i, k in enumerate(keys)]
            entry = [np.arange(len(k), dtype=np.int64) for k in keys]
            all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
            by_key = np.argsort(all_keys, kind="stable")
            self._keys = all_keys[by_key]
            self._seg = (np.concatenate(seg) if seg else np.zeros(0, dtype=np.int32))[by_key]
            self._entry = (np.concatenate(entry) if entry else np.zeros(0, dtype=np.int64))[by_key]
            self._segments, self._names, self._order = segments, names, order

    def _load(self, name: str) -> SentenceBatch | None:
        try:
            with np.load(self.directory / f"{name}.npz", allow_pickle=False) as f:
                parts = {k: f[k] for k in ("keys", "ptr", "start", "end", "tok_ptr", "tok_flat", "vocab")}
            vectors = np.load(self.directory / f"{name}.vec.npy", mmap_mode="r")
        except Exception as exc:  # a damaged segment only costs the work of preparing its chunks again
            log.warning("ignoring sentence segment %s: %s", name, exc)
            return None
        if len(parts["ptr"]) != len(parts["keys"]) + 1 or len(vectors) != len(parts["start"]):
            log.warning("ignoring sentence segment %s: inconsistent sizes", name)
            return None
        return SentenceBatch(
            parts["keys"], parts["ptr"], parts["start"], parts["end"], parts["tok_ptr"], parts["tok_flat"], parts["vocab"].tolist(), vectors
        )

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[SentenceBatch]]:
        """(segment number, entry number) of each key, segment -1 where the chunk is not prepared; and the
        segments those numbers refer to (a snapshot: a refresh meanwhile does not renumber them)."""
        with self._lock:
            sorted_keys, seg, entry = self._keys, self._seg, self._entry
            segments = [self._segments[n] for n in self._order]
        if not len(sorted_keys):
            return np.full(len(keys), -1, dtype=np.int32), np.zeros(len(keys), dtype=np.int64), segments
        pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
        hit = sorted_keys[pos] == keys
        return np.where(hit, seg[pos], -1), np.where(hit, entry[pos], 0), segments

    def write(self, batch: SentenceBatch) -> None:
        """Add a prepared batch (with vectors) as a new segment: vectors first, then the entry file that makes it
        visible, each renamed into place whole."""
        assert batch.vectors is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"seg-{uuid.uuid4().hex}"
        tmp_vec = self.directory / f"{name}.vec.tmp.npy"
        np.save(tmp_vec, np.ascontiguousarray(batch.vectors, dtype=np.float32))
        tmp_vec.rename(self.directory / f"{name}.vec.npy")
        tmp = self.directory / f"{name}.tmp.npz"
        np.savez(
            tmp, keys=batch.keys, ptr=batch.ptr, start=batch.start, end=batch.end, tok_ptr=batch.tok_ptr, tok_flat=batch.tok_flat,
            vocab=np.array(batch.vocab, dtype=str),
        )
        tmp.rename(self.directory / f"{name}.npz")
        self.refresh()


def gather(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """vectors[rows] as a float32 array; from a memory-mapped segment, the pages read are then released from
    this process (they stay in the OS page cache), so questions do not grow its resident memory."""
    out = np.asarray(vectors[rows], dtype=np.float32)
    raw = getattr(vectors, "_mmap", None)
    if isinstance(raw, mmap.mmap):
        raw.madvise(mmap.MADV_DONTNEED)
    return out


def prepare_missing(
    store: SentenceStore,
    ids: Sequence[str],
    keys: np.ndarray,
    chunks: Callable[[list[str]], dict[str, tuple[str, str]]],
    encode: Callable[[list[str]], np.ndarray],
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Prepare and store the chunks among (ids, keys) that have no entry yet; returns how many were prepared.
    `chunks(ids)`: the stored chunks among these ids as {id: (text, section)}; `encode`: the query model (in small
    calls, so a search arriving meanwhile waits for one of them, not for the pass)."""
    store.refresh()
    seg, _, _ = store.find(keys)
    _, first = np.unique(keys, return_index=True)
    todo = [i for i in sorted(first.tolist()) if seg[i] < 0]
    done = 0
    for start in range(0, len(todo), _SEGMENT_CHUNKS):
        if stop is not None and stop.is_set():
            break
        part = todo[start : start + _SEGMENT_CHUNKS]
        rows = chunks([ids[i] for i in part])
        store.write(prepare(((int(keys[i]), *rows[ids[i]]) for i in part if ids[i] in rows), encode))
        done += len(part)
        if progress is not None:
            progress(done, len(todo))
    return done
