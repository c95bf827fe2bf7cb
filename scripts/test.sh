#!/usr/bin/env bash
# The whole test run (README's test command; .ci/run runs exactly this):
#   1. install system packages, .venv, test tools and the real model for the end-to-end digest test;
#   2. build the Linux installer (.deb) and run the frozen app's self-test from it, headless;
#   3. pytest: core, sync (loopback HTTP), UI (pytest-qt, offscreen), digest (Ollama stand-in and real model).
# pytest runs last so that its summary is the run's closing line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash packaging/build_and_smoke.sh .venv
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest "$@"
