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

.PHONY: install run test clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install.sh
	PY=$(PY) VENV=$(VENV) bash scripts/install.sh
	touch $@

run: install
	$(BIN)/qa ingest samples
	$(BIN)/qa ask "哪些单位提到预算编制不够细化？"
	$(BIN)/qa serve --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) data .pytest_cache
