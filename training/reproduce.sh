#!/usr/bin/env bash
# Reproduces the shipped default model, models/agentrt-tiny.gguf, from a seed:
#   training/reproduce.sh [OUT_DIR] [MINUTES] [MINUTES_2] ... [MINUTES_7]
# installs the training packages (training/setup.sh), builds agentrt, generates the dialogues
# with the real plugins (gen.py, seed 1) and the copy drills (gen.py copy, seed 13), trains the
# tokenizer and the model in five stages, exports the GGUF to OUT_DIR/agentrt-tiny.gguf and
# evaluates it through the C++ runtime on 300 fresh tasks (seed 9001), examples/tasks and the
# held-out suite (training/eval). Default OUT_DIR: build/train.
#   stage 1 (MINUTES, default 62): dialogues 1-30000, loss on the model's turns only;
#   stage 2 (MINUTES_2, default 45): from stage 1's F16 export, dialogues 30001-78000 plus 60000
#     copy drills, prompt weight 0.2, batches of 4 rows: the stage where copying is learned;
#   stage 3 (MINUTES_3, default 33): from stage 2's checkpoint, dialogues 78001-120000 plus 60000
#     copy drills that are 60% made-up names (seed 14), lr 1e-3, one thread;
#   stage 4 (MINUTES_4, default 65): from stage 3's checkpoint, 20000 search and 30000 other
#     dialogues drawn again from all 120000 (training/mix.py, seed 31) plus 50000 copy drills that
#     are 90% made-up names (seed 15), lr 1.2e-3, one thread: the stage where names are learned;
#   stage 5 (MINUTES_5, default 40): from stage 4's checkpoint, every multi-step dialogue, 15000
#     search and 25000 other dialogues (seed 32) and 40000 name-heavy drills (seed 16), lr 1e-3;
#   stage 6 (MINUTES_6, default 75): from stage 5's checkpoint, new dialogues (gen.py seed 2,
#     60000 over their own 8000 documents): every multi-step one, 8000 search, 8000 sql, 4000
#     solver, 4000 simulate, 5000 calculator and 3500 others (mix.py seed 33), plus 15000
#     name-heavy drills (seed 17), lr 1e-3;
#   stage 7 (MINUTES_7, default 32): from stage 6's checkpoint, the same recipe on dialogues of
#     seed 3 (mix.py seed 34) plus 12000 name-heavy drills (seed 18), lr 8e-4.
# Training is time-bounded, so the result depends on the machine's speed;
# the shipped model's card (models/MODEL_CARD.md) gives the tokens it saw and the time it took.
# Run it on an otherwise idle machine: two training threads that share the cores with other work
# wait on each other at every barrier (the shipped run used `chrt -r 1` for that reason).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/train}
minutes=${2:-62}
minutes2=${3:-45}
minutes3=${4:-33}
minutes4=${5:-65}
minutes5=${6:-40}
minutes6=${7:-75}
minutes7=${8:-32}
mkdir -p "$out"

training/setup.sh
scripts/build.sh build
agentrt=build/cli/agentrt
py=training/.venv/bin/python

# Data: 120k dialogues (seed 1) over 8000 generated documents; the tokenizer learns from the
# first 40k; stage 1 trains on the first 30k, stage 2 on the next 48k, stage 3 on the rest (less
# 2% held out for the eval loss in each).
python3 training/gen.py dialogues --seed 1 -n 120000 --docs 8000 --out "$out/data.jsonl"
python3 training/gen.py copy --seed 13 -n 60000 --out "$out/copy.jsonl"
python3 training/gen.py copy --seed 14 --names 0.6 -n 60000 --out "$out/copy-names.jsonl"
python3 training/gen.py copy --seed 15 --names 0.9 -n 50000 --out "$out/copy-names-15.jsonl"
python3 training/gen.py copy --seed 16 --names 0.9 -n 40000 --out "$out/copy-names-16.jsonl"
python3 training/gen.py dialogues --seed 2 -n 60000 --docs 8000 --out "$out/data2.jsonl"
python3 training/gen.py copy --seed 17 --names 0.9 -n 15000 --out "$out/copy-names-17.jsonl"
python3 training/gen.py dialogues --seed 3 -n 60000 --docs 8000 --out "$out/data3.jsonl"
python3 training/gen.py copy --seed 18 --names 0.9 -n 12000 --out "$out/copy-names-18.jsonl"
python3 training/corpus.py "$out/data.jsonl" "$out/corpus.txt" --max-dialogues 40000
head -n 30000 "$out/data.jsonl" > "$out/train.jsonl"
{ sed -n 30001,78000p "$out/data.jsonl"; cat "$out/copy.jsonl"; } > "$out/train2.jsonl"
{ tail -n +78001 "$out/data.jsonl"; cat "$out/copy-names.jsonl"; } > "$out/train3.jsonl"
python3 training/mix.py --data "$out/data.jsonl" --drills "$out/copy-names-15.jsonl" --seed 31 \
  --search 20000 --other 30000 --out "$out/train4.jsonl"
python3 training/mix.py --data "$out/data.jsonl" --drills "$out/copy-names-16.jsonl" --seed 32 \
  --search 15000 --other 25000 --all-multi --out "$out/train5.jsonl"
python3 training/mix.py --data "$out/data2.jsonl" --drills "$out/copy-names-17.jsonl" --seed 33 \
  --search 8000 --all-multi --kind sql=8000 --kind solver=4000 --kind simulate=4000 \
  --kind calculator=5000 --other 3500 --out "$out/train6.jsonl"
python3 training/mix.py --data "$out/data3.jsonl" --drills "$out/copy-names-18.jsonl" --seed 34 \
  --search 8000 --all-multi --kind sql=8000 --kind solver=4000 --kind simulate=4000 \
  --kind calculator=5000 --other 3500 --out "$out/train7.jsonl"
$py -c "import sys; sys.path.insert(0, 'training'); import tokenizer; \
tokenizer.train('$out/corpus.txt', '$out/tok', vocab_size=1024)"

# shellcheck disable=SC2086
$py training/train.py --data "$out/train.jsonl" --tokenizer "$out/tok.model" --out "$out/run" \
  --dim 192 --layers 6 --bucket --no-bf16 --minutes "$minutes" --seed 1 ${TRAIN_ARGS:-}
$py training/export_gguf.py --checkpoint "$out/run/ckpt.pt" --tokenizer "$out/tok.model" \
  --out "$out/stage1.gguf" --name agentrt-tiny
$py training/train.py --data "$out/train2.jsonl" --tokenizer "$out/stage1.gguf" \
  --init "$out/stage1.gguf" --out "$out/run2" --bucket --no-bf16 --minutes "$minutes2" \
  --batch 4 --lr 1.5e-3 --warmup 50 --prompt-weight 0.2 --seed 21
$py training/train.py --data "$out/train3.jsonl" --tokenizer "$out/stage1.gguf" \
  --init "$out/run2/ckpt.pt" --out "$out/run3" --bucket --no-bf16 --minutes "$minutes3" \
  --batch 4 --lr 1e-3 --warmup 30 --prompt-weight 0.2 --seed 22 --threads 1
$py training/train.py --data "$out/train4.jsonl" --tokenizer "$out/stage1.gguf" \
  --init "$out/run3/ckpt.pt" --out "$out/run4" --bucket --no-bf16 --minutes "$minutes4" \
  --batch 4 --lr 1.2e-3 --warmup 30 --prompt-weight 0.2 --seed 23 --threads 1
$py training/train.py --data "$out/train5.jsonl" --tokenizer "$out/stage1.gguf" \
  --init "$out/run4/ckpt.pt" --out "$out/run5" --bucket --no-bf16 --minutes "$minutes5" \
  --batch 4 --lr 1e-3 --warmup 20 --prompt-weight 0.2 --seed 24 --threads 1
$py training/train.py --data "$out/train6.jsonl" --tokenizer "$out/stage1.gguf" \
  --init "$out/run5/ckpt.pt" --out "$out/run6" --bucket --no-bf16 --minutes "$minutes6" \
  --batch 4 --lr 1e-3 --warmup 20 --prompt-weight 0.2 --seed 25 --threads 1
$py training/train.py --data "$out/train7.jsonl" --tokenizer "$out/stage1.gguf" \
  --init "$out/run6/ckpt.pt" --out "$out/run7" --bucket --no-bf16 --minutes "$minutes7" \
  --batch 4 --lr 8e-4 --warmup 20 --prompt-weight 0.2 --seed 26 --threads 1
$py training/export_gguf.py --checkpoint "$out/run7/ckpt.pt" --tokenizer "$out/stage1.gguf" \
  --out "$out/agentrt-tiny.gguf" --name agentrt-tiny

training/evaluate.sh "$out/agentrt-tiny.gguf" "$out/eval"
