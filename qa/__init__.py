"""Everything from the store to the user: settings, embeddings, store, retrieval, answers, API, CLI."""

import os

# Must happen before numpy is imported anywhere: OpenBLAS and torch otherwise fight for the 2 cores
# (DESIGN.md §7, dense query 24 ms → 11 ms median). Explicit environment settings still win.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
