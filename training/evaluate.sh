#!/usr/bin/env bash
# Evaluates a model through the C++ runtime (`agentrt eval`, greedy) on three suites:
#   fresh     300 tasks generated from seed 9001 (not a training seed), with their own documents
#   examples  examples/tasks
#   heldout   training/eval/heldout.jsonl, written by hand before training (own documents)
#   heldout2  training/eval/heldout2.jsonl, written in session 8 by someone who had not seen the
#             generator (own documents)
#   training/evaluate.sh MODEL.gguf [OUT_DIR]
# Prints the success rate per suite and per task kind; the JSON reports stay in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
out=${2:-build/train/eval}
agentrt=build/cli/agentrt
mkdir -p "$out"

python3 training/gen.py tasks --seed 9001 -n 300 --docs 3000 --out "$out/fresh" > /dev/null
rm -f "$out/heldout.idx"
$agentrt index build -o "$out/heldout.idx" training/eval/heldout_docs.jsonl > /dev/null
rm -f "$out/heldout2.idx"
$agentrt index build -o "$out/heldout2.idx" training/eval/heldout2_docs.jsonl > /dev/null

run() {  # name suite [options]
  local name=$1 suite=$2
  shift 2
  local start=$SECONDS
  $agentrt eval "$suite" -m "$model" --no-trace --json "$@" > "$out/$name.json" || true
  echo "$name: $((SECONDS - start)) s" >&2
}
run fresh "$out/fresh/tasks.jsonl" --set "search.index=$out/fresh/docs-9001/docs.idx"
run examples examples/tasks
run heldout training/eval/heldout.jsonl --set "search.index=$out/heldout.idx"
run heldout2 training/eval/heldout2.jsonl --set "search.index=$out/heldout2.idx"
python3 training/summarize_eval.py "$out/fresh.json" "$out/examples.json" "$out/heldout.json" \
  "$out/heldout2.json"
