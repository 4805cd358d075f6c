"""A SentenceVectors that records every text it is asked to embed (what an answer embeds at question time)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.evidence import SentenceVectors


class RecordingVectors(SentenceVectors):
    def __init__(self, inner: SentenceVectors) -> None:
        super().__init__(inner._embedder)
        self.asked: list[str] = []

    def get(self, texts: Sequence[str]) -> np.ndarray:
        self.asked += texts
        return super().get(texts)
