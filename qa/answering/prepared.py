"""The background pass that prepares every indexed chunk's sentences (qa.sentences) so aggregate questions find
them ready. `qa serve` runs it at start-up and then periodically (qa.api.deps.Services), `qa sentences` once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from qa.answering.context import AnswerContext
from qa.evidence import SentenceVectors
from qa.sentences import ChunkSource, prepare_missing

# Sentences per model call of the pass and the pause after each: the embedder's lock is not fair, and a pass that
# released and re-took it at once kept a waiting search from the shared model for seconds (docs/benchmarks.md).
PASS_SLICE = 8
PASS_PAUSE = 0.002


def prepare_sentences(
    ctx: AnswerContext,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 0,
) -> int:
    """Prepare the sentences of every indexed chunk that has none yet; how many were prepared. Entries of deleted
    or rewritten chunks are compacted away afterwards. `workers` 0: in the background of a serving process (a
    slice of the query model at a time, with pauses); ≥ 1: a bulk job with that many encoder threads and no
    pauses (`qa sentences`; the same vectors)."""
    lexical, keys = ctx.entry_keys()
    store = ctx.store

    def chunks(positions: list[int]) -> list[ChunkSource]:
        by_id = {r.id: r for r in store.get_chunks([lexical.ids[p] for p in positions])}
        return [ChunkSource.of_row(by_id[lexical.ids[p]], int(keys[p])) for p in positions if lexical.ids[p] in by_id]

    vectors = ctx.vectors

    def encode(texts: list[str]) -> np.ndarray:
        return vectors.get(texts, workers) if workers else _encode_in_background(vectors, texts)

    done = prepare_missing(ctx.sentences, keys, chunks, encode, stop, progress)
    ctx.sentences.compact(keys)  # entries of deleted chunks, one small segment per upload
    return done


def _encode_in_background(vectors: SentenceVectors, texts: list[str]) -> np.ndarray:
    """The pass's embedding: a few sentences per model call, then a pause, so a search waits for one slice."""
    parts = []
    for i in range(0, len(texts), PASS_SLICE):
        parts.append(vectors.get(texts[i : i + PASS_SLICE]))
        time.sleep(PASS_PAUSE)
    return np.concatenate(parts)


def sentences_prepared(ctx: AnswerContext) -> int:
    """How many of the indexed chunks have their sentences prepared."""
    ctx.sentences.refresh()
    return int((ctx.sentences.find(ctx.entry_keys()[1])[0] >= 0).sum())
