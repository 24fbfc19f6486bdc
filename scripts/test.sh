#!/usr/bin/env bash
# Installs, builds and runs the whole test suite: the README's test command, and what CI runs.
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${AGENTRT_BUILD_DIR:-build}

scripts/build.sh "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
