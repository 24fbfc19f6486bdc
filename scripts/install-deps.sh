#!/usr/bin/env bash
# Installs every system package agentrt needs to build and test (Debian names).
# Idempotent: packages already present are not reinstalled; apt-get update runs only when
# something is missing. Safe to run twice.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev            # Asio, Beast, Multiprecision, Odeint (header-only)
  libsqlite3-dev          # traces, sql and search plugins (FTS5 is built in)
  libsentencepiece-dev    # the reference the tokenizer tests compare with
  nlohmann-json3-dev      # JSON at the edges (CLI, tools, server)
  libcli11-dev            # command-line parsing
  libgtest-dev libgmock-dev
  wrk curl                # bench/http_load.sh (a benchmark, not a test)
  python3 python3-venv python3-pip   # development tools only (reference checks)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
