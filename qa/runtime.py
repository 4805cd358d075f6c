"""Process environment defaults, set before numpy, torch or the model load; explicit environment settings win.

- OPENBLAS_NUM_THREADS=1: OpenBLAS and torch otherwise fight for the cores (docs/benchmarks.md, "Threads");
- TOKENIZERS_PARALLELISM=false: the tokenizers' own thread pool competes the same way;
- HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE=1: models load from local paths only, never from a model hub.

Applied by the `qa` entry point (qa.__main__), the test suite and the scripts; importing `qa` changes nothing.
"""

from __future__ import annotations

import os

ENV_DEFAULTS = {
    "OPENBLAS_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def apply_env_defaults() -> None:
    for name, value in ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
