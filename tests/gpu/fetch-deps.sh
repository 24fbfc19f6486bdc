#!/usr/bin/env bash
# Downloads (here, where Debian's archive is reachable) the -dev packages the build needs into
# .deps/ (git-ignored through .git/info/exclude), for a GPU machine that is offline and may lack
# them. tests/gpu/run.sh unpacks them into a private prefix when the machine has no such package.
# Carry the folder: run(..., carry=[".deps"]).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.deps/' .git/info/exclude 2>/dev/null || echo '/.deps/' >> "$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p .deps
cd .deps
apt-get download libsentencepiece-dev libsentencepiece0 libprotobuf-lite32 libboost1.74-dev \
  libsqlite3-dev libsqlite3-0 nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev \
  pkgconf pkgconf-bin libpkgconf3 pkg-config
ls -la
