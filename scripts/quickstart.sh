#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and runs an example agent task on
# the default model shipped in the repo (models/agentrt-tiny.gguf), showing each step.
#   scripts/quickstart.sh [TASK.json] [MODEL.gguf]
# Default task: examples/tasks/circle-area.json ("What is the area of a circle with radius
# 3.5?"). Exit status: that of `agentrt run` (0 when the model answered and the task's
# expectations hold).
set -euo pipefail
cd "$(dirname "$0")/.."
task=${1:-examples/tasks/circle-area.json}
model=${2:-models/agentrt-tiny.gguf}

scripts/build.sh build
if [[ ! -f "$model" ]]; then
  echo "quickstart: no model at '$model'" >&2
  exit 2
fi
echo "== agentrt run $task -m $model" >&2
exec ./build/cli/agentrt run "$task" -m "$model" --no-trace
