"""The background pass (qa.answering.prepared) on a real store: it prepares every indexed chunk's sentences once,
then only new documents' chunks, stops when asked, and says how many are ready."""

from __future__ import annotations

import threading

from qa.answering.context import AnswerContext
from qa.answering.prepared import prepare_sentences, sentences_prepared
from qa.retrieve import Retriever
from tests.conftest import ingest_into
from tests.support.samples import S001, S004


def test_the_pass_prepares_each_indexed_chunk_once(empty_retriever: Retriever) -> None:
    ingest_into(empty_retriever, [S004])
    ctx = AnswerContext.of(empty_retriever)
    n = len(empty_retriever.lexical())
    assert n == 10 and sentences_prepared(ctx) == 0
    stop = threading.Event()
    stop.set()
    assert prepare_sentences(ctx, stop) == 0 and sentences_prepared(ctx) == 0  # asked to stop before it began
    seen: list[tuple[int, int]] = []
    assert prepare_sentences(ctx, progress=lambda done, total: seen.append((done, total))) == n
    assert seen == [(n, n)] and sentences_prepared(ctx) == n
    assert prepare_sentences(ctx) == 0  # nothing left to do

    added = ingest_into(empty_retriever, [S001])  # an upload: only its chunks are prepared
    assert sentences_prepared(ctx) == n
    assert prepare_sentences(ctx) == added.chunks > 0
    assert sentences_prepared(ctx) == n + added.chunks == len(empty_retriever.lexical())
