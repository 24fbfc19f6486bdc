#!/usr/bin/env bash
# Installs the system packages, configures and builds agentrt (Release, Ninja, ccache).
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]
# AGENTRT_CUDA=AUTO|ON|OFF in the environment selects the CUDA backend (default AUTO).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true

scripts/install-deps.sh
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DAGENTRT_CUDA="${AGENTRT_CUDA:-AUTO}" "$@"
cmake --build "$build_dir" -j "$(nproc)"
