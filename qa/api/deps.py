"""Process-wide services (model, store, retriever, answerer) and their typed FastAPI dependencies."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from ingest.document import ReadLimits
from ingest.pipeline import expand_paths, ingest_files
from qa.answer import Answerer
from qa.embeddings import Embedder
from qa.llm import LLMComposer
from qa.retrieve import Retriever, open_retriever
from qa.settings import Settings

log = logging.getLogger("qa.api")


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    retriever: Retriever
    answerer: Answerer
    # Ingest and delete change the store in several steps; one writer at a time per process.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings) -> Services:
        embedder = Embedder(settings)
        retriever = open_retriever(settings, embedder)
        retriever.lexical()  # load or build the BM25 index before the first request
        composer = LLMComposer(settings) if settings.llm_base_url else None
        answerer = Answerer(retriever, composer=composer)
        answerer.warm()
        return cls(settings, embedder, retriever, answerer)

    def seed(self, folder: Path) -> None:
        if self.retriever.store.catalogue():
            return
        s = self.settings
        report = ingest_files(
            expand_paths([folder]), self.retriever.store, self.embedder,
            chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap, limits=ReadLimits.of(s),
        )
        log.warning("首次启动：已导入 %d 篇示例报告（%d 个段落）", len(report.new), report.chunks)
        self.retriever.invalidate()


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
