"""Session fixtures: the real m3e-small model loads once; the bundled samples are ingested once into a
real embedded Chroma in a temp directory. Tests that change a store get their own empty one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from qa.runtime import apply_env_defaults

apply_env_defaults()  # as the `qa` command does, before anything below loads numpy

import pytest  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

from ingest.pipeline import expand_paths  # noqa: E402
from qa.embeddings import Embedder  # noqa: E402
from qa.library import IngestReport, Library  # noqa: E402
from qa.retrieve import Retriever, open_retriever  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# One int8 ONNX export per machine for the suite and the servers it starts, not one per temporary data dir
# (the cache folder is keyed by the model files and the export recipe, so it is never stale).
os.environ.setdefault("QA_MODEL_CACHE_DIR", str(Path(tempfile.gettempdir()) / "qa-test-model-cache"))

# Property tests (fuzzing) stay bounded: 200 examples a test (a few seconds each), no deadline (the first
# example pays for imports and lazy parsers), no example database in the work tree, and in CI the same
# examples on every run. HYPOTHESIS_PROFILE=deep explores 2000 a test locally.
hypothesis_settings.register_profile(
    "qa",
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile("deep", parent=hypothesis_settings.get_profile("qa"), max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "qa"))
SAMPLES = ROOT / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(Settings())


def make_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


def ingest_into(retriever: Retriever, paths: list[Path], **kwargs: object) -> IngestReport:
    return Library.of(retriever).ingest_files(expand_paths(paths), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sample_retriever(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Retriever:
    retriever = open_retriever(make_settings(tmp_path_factory.mktemp("samples-store")), embedder)
    report = ingest_into(retriever, [SAMPLES])
    assert len(report.new) == 5 and not report.failed
    return retriever


@pytest.fixture()
def empty_retriever(tmp_path: Path, embedder: Embedder) -> Iterator[Retriever]:
    yield open_retriever(make_settings(tmp_path / "store"), embedder)


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real `qa serve` that seeded itself with the bundled samples."""
    from tests.support.server import running_server

    with running_server(tmp_path_factory.mktemp("api-data"), "--seed", str(SAMPLES)) as base:
        yield base


ADMIN_KEY = "test-admin-key"
READER_KEY = "test-reader-key"


@pytest.fixture(scope="session")
def keyed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, data dir) of a real `qa serve` with reader and admin keys, seeded with the bundled samples:
    the hardening tests (schema fuzzing, load, ingest metrics, logs) share it and clean up what they add."""
    from tests.support.server import running_server

    data = tmp_path_factory.mktemp("keyed-api-data")
    with running_server(
        data, "--seed", str(SAMPLES), env={"QA_ADMIN_KEYS": ADMIN_KEY, "QA_API_KEYS": READER_KEY}
    ) as base:
        yield base, data
