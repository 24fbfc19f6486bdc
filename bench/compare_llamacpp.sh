#!/usr/bin/env bash
# Speed of agentrt against llama.cpp on random-weight llama models (see compare_llamacpp.py).
# Sets up a virtual environment with llama-cpp-python (built from source by pip; several minutes on
# two cores), gguf and numpy when it lacks them. Not run by CI.
#   bench/compare_llamacpp.sh [--models-dir DIR] [--model 110m-q8_0 ...] [-r 5] [-t 2]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AGENTRT_BENCH_VENV:-.venv}
if [[ ! -x "$venv/bin/python" ]]; then python3 -m venv "$venv"; fi
if ! "$venv/bin/python" -c "import llama_cpp, gguf, numpy" 2>/dev/null; then
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON}" "$venv/bin/pip" install -q llama-cpp-python gguf numpy
fi
exec "$venv/bin/python" bench/compare_llamacpp.py "$@"
