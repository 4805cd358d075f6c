"""Process-wide services (model, store, retriever, answerer, library) and their typed FastAPI dependencies.

`Services.start` owns the process's start-up: load the model and the indexes, load the findings view, then settle
the heap (what start-up loaded lives as long as the process) and start the background sentence pass and the
background fusion tuning (woken by the library's write notifications, `Library.on_write`).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from ingest.pipeline import expand_paths
from qa import tuning
from qa.answer import Answerer
from qa.answering.prepared import prepare_sentences, sentences_prepared
from qa.embeddings import Embedder
from qa.library import Library
from qa.llm import LLMComposer
from qa.retrieve import Retriever, open_retriever
from qa.settings import Settings

log = logging.getLogger("qa.api")


def settle_heap() -> None:
    """After start-up: move everything loaded so far out of the garbage collector's reach (it lives as long as the
    process; at 100k chunks a full collection over the start-up objects took 0.6 s and landed inside aggregate
    answers), and hand the heap pages freed by the start-up loads back to the OS (glibc keeps them otherwise;
    reading every stored finding row at 100k chunks left 170 MB freed but resident). docs/benchmarks.md."""
    gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # no glibc: nothing to hand back
        pass


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    retriever: Retriever
    answerer: Answerer
    library: Library
    stopping: threading.Event = field(default_factory=threading.Event)
    written: threading.Event = field(default_factory=threading.Event)  # this process changed the library
    last_write: float = 0.0  # time.monotonic() of that

    @classmethod
    def start(cls, settings: Settings) -> Services:
        embedder = Embedder(settings)
        embedder.load()  # before /readyz says ready: the first question must not wait for the model
        retriever = open_retriever(settings, embedder)
        retriever.lexical()  # load or build the BM25 index before the first request
        composer = LLMComposer(settings) if settings.llm_base_url else None
        answerer = Answerer(retriever, composer=composer)
        answerer.warm()
        retriever.settle()
        settle_heap()
        services = cls(settings, embedder, retriever, answerer, Library.of(retriever))
        services.library.on_write(services._written)
        if settings.sentence_pass:
            threading.Thread(target=services._prepare_sentences, name="qa-sentences", daemon=True).start()
        if settings.fusion_tuning:
            threading.Thread(target=services._tune_fusion, name="qa-fusion-tuning", daemon=True).start()
        return services

    def _tune_fusion(self) -> None:
        """Background: after the library changed substantially (an upload here, an ingest by another process),
        choose its fusion weight again from pseudo-queries (qa/tuning.py); one process of a shared store at a time."""
        while not self.stopping.is_set():
            self.written.wait(
                self.settings.fusion_tuning_interval
            )  # soon after a write here; other processes' writes within the interval
            self.written.clear()
            quiet = time.monotonic() - self.last_write
            if quiet < self.settings.fusion_tuning_quiet:
                self.stopping.wait(self.settings.fusion_tuning_quiet - quiet)
                self.written.set()  # look again once the writes have paused
                continue
            try:
                if tuning.due(self.retriever) and tuning.claim(self.retriever.store.meta):
                    try:
                        record = tuning.tune(self.retriever)
                        log.info("fusion tuned on %d pseudo-queries: %s", record.queries, record.params.describe())
                    finally:
                        tuning.release(self.retriever.store.meta)
            except Exception:  # the store may be briefly unavailable (server mode); the current fusion stays
                log.exception("fusion tuning failed; retrying")

    def _prepare_sentences(self) -> None:
        """Background: keep every committed chunk's sentences prepared (qa.sentences), a slice of the query model
        at a time, so aggregate questions find them ready."""
        while not self.stopping.is_set():
            try:
                n = prepare_sentences(self.answerer.ctx, self.stopping)
                if n:
                    log.info("prepared the sentences of %d chunks", n)
            except Exception:  # the store may be briefly unavailable (server mode); aggregates still work without
                log.exception("preparing sentences failed; retrying")
            self.stopping.wait(self.settings.sentence_pass_interval)

    def sentences_prepared(self) -> int:
        """How many indexed chunks have their sentences prepared (readiness)."""
        return sentences_prepared(self.answerer.ctx)

    def seed(self, folder: Path) -> None:
        if self.retriever.store.catalogue():
            return
        report = self.library.ingest_files(expand_paths([folder]))
        log.warning("首次启动：已导入 %d 篇示例报告（%d 个段落）", len(report.new), report.chunks)

    def _written(self) -> None:
        """The library heard a write of this process: the background tuning looks whether the fusion weight should be
        chosen again, once the writes pause."""
        self.last_write = time.monotonic()
        self.written.set()


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
