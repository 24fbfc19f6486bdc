#!/usr/bin/env bash
# Sets up a virtual environment with llama-cpp-python (built from source by pip), gguf and numpy,
# then compares agentrt and llama.cpp on the same files. Not run by CI; building llama.cpp takes
# several minutes on two cores.  scripts/parity_llamacpp.sh [--build build] [--n-gen 32]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AGENTRT_PARITY_VENV:-.venv}
if [[ ! -x "$venv/bin/python" ]]; then python3 -m venv "$venv"; fi
if ! "$venv/bin/python" -c "import llama_cpp, gguf, numpy" 2>/dev/null; then
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON}" "$venv/bin/pip" install -q llama-cpp-python gguf numpy
fi
exec "$venv/bin/python" scripts/parity_llamacpp.py "$@"
