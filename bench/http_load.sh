#!/usr/bin/env bash
# Load on `agentrt serve` (a benchmark, not a test): wrk at 64 connections on /health and
# /v1/tools (requests/s, errors), then N concurrent agent runs on the model (aggregate tokens/s).
#
#   bench/http_load.sh [-m MODEL] [-b BUILD_DIR] [-d SECONDS] [-n RUNS] [-c CTX] [-t TOKENS]
# (-c: context per session, -t: tokens per agent step.)
# Needs wrk (Debian package `wrk`, in scripts/install-deps.sh), curl and python3.
set -euo pipefail

model=models/agentrt-tiny.gguf
build=build
duration=10
runs=8
ctx=0
tokens=64
while getopts "m:b:d:n:c:t:" opt; do
  case $opt in
    m) model=$OPTARG ;; b) build=$OPTARG ;; d) duration=$OPTARG ;; n) runs=$OPTARG ;;
    c) ctx=$OPTARG ;; t) tokens=$OPTARG ;;
    *) echo "usage: $0 [-m MODEL] [-b BUILD_DIR] [-d SECONDS] [-n RUNS]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

log=$(mktemp)
traces=$(mktemp -d)
"$build/cli/agentrt" serve -m "$model" --port 0 --queue 64 -c "$ctx" -n "$tokens" --set trace.database="$traces/t.db" \
  >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$log" "$traces"' EXIT
for _ in $(seq 100); do
  grep -q "agentrt serve: http" "$log" && break
  sleep 0.1
done
url=$(grep -o "http://[0-9.]*:[0-9]*" "$log" | head -1)
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
echo "server: $url ($(grep -o "model [^,]*" "$log" | head -1))"

for path in /health /v1/tools; do
  out=$(wrk -t2 -c64 -d"${duration}s" "$url$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
  echo "wrk 64 connections $path: $rps requests/s, $errors errors"
done

python3 - "$url" "$runs" <<'PY'
import concurrent.futures, json, sys, time, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
prompts = ["What is 17*23?", "What is the square root of 2?", "Solve x^2 = 16.", "What is 2^10?"]
def run(i):
    body = json.dumps({"prompt": prompts[i % len(prompts)], "tools": ["calculator", "solver"],
                       "max_steps": 3}).encode()
    req = urllib.request.Request(url + "/v1/agent/runs", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)
start = time.time()
with concurrent.futures.ThreadPoolExecutor(n) as pool:
    results = list(pool.map(run, range(n)))
wall = time.time() - start
tokens = sum(r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in results)
generated = sum(r["usage"]["completion_tokens"] for r in results)
answered = sum(r["outcome"] == "answered" for r in results)
print(f"{n} concurrent agent runs: {wall:.1f} s, {answered}/{n} answered, "
      f"{tokens / wall:.0f} tokens/s prefilled+generated ({generated / wall:.0f} generated/s)")
PY
