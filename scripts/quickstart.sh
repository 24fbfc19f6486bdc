#!/usr/bin/env bash
# The README's first command: installs, builds, and runs the main job.
#   scripts/quickstart.sh [MODEL.gguf] [PROMPT]
# For now the main job is `agentrt generate` on a GGUF model you name (default: the stories260K
# test model when ../shared/data is present).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/data/stories260K/stories260K.gguf}
prompt=${2:-Once upon a time}

scripts/build.sh build
if [[ ! -f "$model" ]]; then
  if [[ $# -ge 1 ]]; then
    echo "quickstart: no model at '$model'" >&2
    exit 2
  fi
  # No model named and no shared test model: write a small random-weight one, so that the
  # command still shows the whole path (its text is meaningless).
  model=build/random-tiny.gguf
  echo "quickstart: no model given; using a random-weight model at $model" >&2
  ./build/bench/agentrt-random-model "$model" --type q8_0 --preset tiny
fi
./build/cli/agentrt inspect "$model"
./build/cli/agentrt generate -m "$model" -p "$prompt" -n 64
