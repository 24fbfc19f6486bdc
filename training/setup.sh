#!/usr/bin/env bash
# Prepares the Python side of training: system torch and sentencepiece (Debian packages), and a
# venv at training/.venv that sees them (--system-site-packages) plus the `gguf` writer from PyPI.
# Idempotent: packages already present are not reinstalled; safe to run twice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The same idempotent apt step as scripts/install-deps.sh, for the training packages only.
missing=()
for p in python3-torch python3-sentencepiece libopenblas0-openmp python3-venv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import gguf" 2>/dev/null; then
  "$venv/bin/pip" install -q gguf
fi
"$venv/bin/python" -c "import torch, sentencepiece, gguf; print('setup: torch', torch.__version__, '| sentencepiece', sentencepiece.__version__, '| gguf ok')"
