# The two commands a new machine needs (README): `make run` and `make test`.
PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Serving and test processes share 2 cores with the OpenBLAS pool; one BLAS thread avoids the fight
# (DESIGN.md §7: dense query 24 ms → 11 ms median).
export OPENBLAS_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run lint test test-llm test-install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install.sh
	PY=$(PY) VENV=$(VENV) bash scripts/install.sh
	touch $@

run: install
	$(BIN)/qa ingest samples
	$(BIN)/qa ask "哪些单位提到预算编制不够细化？"
	$(BIN)/qa serve --host 127.0.0.1 --port $(PORT)

# Quality floors for CI, a little below the test-split numbers in docs/evaluation.md.
EVAL_FLOORS := hybrid.mrr@10=0.76 hybrid.recall@5=0.90 bm25.mrr@10=0.77 dense.mrr@10=0.67 answers.unit_recall=0.70 \
	answers.unit_precision=0.72 answers.answer_contains=0.78 answers.citation_precision=0.95 \
	answers.unanswerable_declined=0.75

# Lint, format and type check first: seconds, and the most common way a change breaks CI.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint
	bash scripts/install-test-deps.sh
	$(BIN)/qa eval eval_sets/test.jsonl --modes bm25,dense,hybrid --out test-artifacts/eval \
		$(foreach f,$(EVAL_FLOORS),--fail-under $(f))
	$(BIN)/python -m pytest -q

# The LLM composer against the real local Qwen2.5-Coder-1.5B (scripts/install-llm.sh builds llama-cpp-python).
LLM_PORT ?= 8765
test-llm: install
	GGUF=$$(VENV=$(VENV) bash scripts/install-llm.sh | tail -1) && \
	($(BIN)/python -m llama_cpp.server --model $$GGUF --host 127.0.0.1 --port $(LLM_PORT) --n_ctx 4096 --n_threads 2 > data/llm/server.log 2>&1 & echo $$! > data/llm/server.pid) && \
	for i in $$(seq 1 120); do curl -sf http://127.0.0.1:$(LLM_PORT)/v1/models >/dev/null && break; sleep 1; done && \
	QA_TEST_LLM_URL=http://127.0.0.1:$(LLM_PORT)/v1 $(BIN)/python -m pytest -q -s -m llm tests/qa/test_llm_real.py; \
	status=$$?; kill $$(cat data/llm/server.pid) 2>/dev/null; exit $$status

# scripts/install.sh into a fresh venv in a temp dir, then `qa --help`, ingest and ask offline (~5 min).
test-install: install
	QA_TEST_INSTALL=1 $(BIN)/python -m pytest -q tests/test_install_script.py

clean:
	rm -rf $(VENV) data .pytest_cache

# Benchmarks (docs/benchmarks.md): ingest throughput, query latency/load/RSS at 10k and 100k chunks, encoder
# backends. ~35 min on 2 busy cores; `make bench BENCH_QUICK=1` for a ~10 min smoke run. Results in
# bench/results/*.json, scale stores and vector caches in bench/cache/ (gitignored, reused between runs).
.PHONY: bench
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip --disable-pip-version-check -q install -e ".[dev,bench]"
	touch $@

bench: install $(VENV)/.bench-installed
	OPENBLAS_NUM_THREADS=1 QA_TORCH_THREADS=$${QA_TORCH_THREADS:-2} $(BIN)/python -m bench.run
