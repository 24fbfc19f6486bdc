#!/usr/bin/env bash
# Reproduces the shipped default model, models/agentrt-tiny.gguf, from a seed:
#   training/reproduce.sh [OUT_DIR] [MINUTES]
# installs the training packages (training/setup.sh), builds agentrt, generates the dialogues
# with the real plugins (gen.py, seed 1), trains the tokenizer and the model, exports the GGUF to
# OUT_DIR/agentrt-tiny.gguf and evaluates it through the C++ runtime on 300 fresh tasks (seed
# 9001), examples/tasks and the held-out suite (training/eval). Default OUT_DIR: build/train.
# Training is time-bounded (MINUTES, default 75), so the result depends on the machine's speed;
# the shipped model's card (models/MODEL_CARD.md) gives the tokens it saw and the time it took.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/train}
minutes=${2:-75}
mkdir -p "$out"

training/setup.sh
scripts/build.sh build
agentrt=build/cli/agentrt
py=training/.venv/bin/python

# Data: 120k dialogues (seed 1) over 8000 generated documents; tokenizer text from 40k of them.
python3 training/gen.py dialogues --seed 1 -n 120000 --docs 8000 --out "$out/data.jsonl"
python3 training/corpus.py "$out/data.jsonl" "$out/corpus.txt" --max-dialogues 40000
$py -c "import sys; sys.path.insert(0, 'training'); import tokenizer; \
tokenizer.train('$out/corpus.txt', '$out/tok', vocab_size=1024)"

# shellcheck disable=SC2086
$py training/train.py --data "$out/data.jsonl" --tokenizer "$out/tok.model" --out "$out/run" \
  --minutes "$minutes" --seed 1 ${TRAIN_ARGS:-}
$py training/export_gguf.py --checkpoint "$out/run/ckpt.pt" --tokenizer "$out/tok.model" \
  --out "$out/agentrt-tiny.gguf" --name agentrt-tiny

training/evaluate.sh "$out/agentrt-tiny.gguf" "$out/eval"
