"""Process defaults (qa.runtime): set before numpy and the model load, never over an explicit setting."""

from __future__ import annotations

import os

import pytest

from qa.runtime import ENV_DEFAULTS, apply_env_defaults


def test_defaults_fill_what_is_unset_and_keep_what_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # the operator's choice
    apply_env_defaults()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
    assert {k: os.environ[k] for k in ("TOKENIZERS_PARALLELISM", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")} == {
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",  # models load from local paths only
        "TRANSFORMERS_OFFLINE": "1",
    }
    assert set(ENV_DEFAULTS) == {
        "OPENBLAS_NUM_THREADS",
        "TOKENIZERS_PARALLELISM",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
    }
