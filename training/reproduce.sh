#!/usr/bin/env bash
# Reproduces the shipped default model, models/agentrt-tiny.gguf, from a seed:
#   training/reproduce.sh [OUT_DIR] [MINUTES]
# installs the training packages (training/setup.sh), builds agentrt, generates the dialogues
# with the real plugins (gen.py, seed 1), trains the tokenizer and the model, exports the GGUF to
# OUT_DIR/agentrt-tiny.gguf and evaluates it through the C++ runtime on 300 fresh tasks (seed
# 9001), examples/tasks and the held-out suite (training/eval). Default OUT_DIR: build/train.
# Training is time-bounded (MINUTES, default 62), so the result depends on the machine's speed;
# the shipped model's card (models/MODEL_CARD.md) gives the tokens it saw and the time it took.
# Run it on an otherwise idle machine: two training threads that share the cores with other work
# wait on each other at every barrier (the shipped run used `chrt -r 1` for that reason).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/train}
minutes=${2:-62}
mkdir -p "$out"

training/setup.sh
scripts/build.sh build
agentrt=build/cli/agentrt
py=training/.venv/bin/python

# Data: 40k dialogues (seed 1) over 8000 generated documents; the tokenizer learns from all of
# them, the model trains on the first 30k (less 2% held out for the eval loss).
python3 training/gen.py dialogues --seed 1 -n 40000 --docs 8000 --out "$out/data.jsonl"
python3 training/corpus.py "$out/data.jsonl" "$out/corpus.txt" --max-dialogues 40000
head -n 30000 "$out/data.jsonl" > "$out/train.jsonl"
$py -c "import sys; sys.path.insert(0, 'training'); import tokenizer; \
tokenizer.train('$out/corpus.txt', '$out/tok', vocab_size=1024)"

# shellcheck disable=SC2086
$py training/train.py --data "$out/train.jsonl" --tokenizer "$out/tok.model" --out "$out/run" \
  --dim 192 --layers 6 --bucket --no-bf16 --minutes "$minutes" --seed 1 ${TRAIN_ARGS:-}
$py training/export_gguf.py --checkpoint "$out/run/ckpt.pt" --tokenizer "$out/tok.model" \
  --out "$out/agentrt-tiny.gguf" --name agentrt-tiny

training/evaluate.sh "$out/agentrt-tiny.gguf" "$out/eval"
