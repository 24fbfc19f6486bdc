#!/usr/bin/env bash
# Reproduces the shipped default model, models/agentrt-tiny.gguf, from a seed:
#   training/reproduce.sh [OUT_DIR] [MINUTES_1] [MINUTES_2] ... [MINUTES_15]
# installs the training packages (training/setup.sh), builds agentrt, generates the dialogues
# with the real plugins (gen.py, seeds 1-11) and the copy drills (gen.py copy, seeds 13-26),
# trains the tokenizer and the model in fifteen stages, exports the GGUF to
# OUT_DIR/agentrt-tiny.gguf and evaluates it through the C++ runtime on 300 fresh tasks (seed
# 9001), examples/tasks and the two held-out suites (training/eval). Default OUT_DIR: build/train.
#   stage 1 (MINUTES_1, default 62): 6 layers of width 192, dialogues 1-30000, loss on the
#     model's turns only;
#   stage 2 (default 45): from stage 1's F16 export, dialogues 30001-78000 plus 60000 copy
#     drills, prompt weight 0.2, batches of 4 rows: the stage where copying is learned;
#   stage 3 (default 33): from stage 2's checkpoint, dialogues 78001-120000 plus 60000 copy
#     drills that are 60% made-up names (seed 14), lr 1e-3, one thread;
#   stage 4 (default 65): from stage 3's checkpoint, 20000 search and 30000 other dialogues drawn
#     again from all 120000 (training/mix.py, seed 31) plus 50000 copy drills that are 90%
#     made-up names (seed 15), lr 1.2e-3, one thread: the stage where names are learned;
#   stage 5 (default 40): from stage 4's checkpoint, every multi-step dialogue, 15000 search and
#     25000 other dialogues (seed 32) and 40000 name-heavy drills (seed 16), lr 1e-3;
#   stages 6-13 each train on 60000 new dialogues (their own 8000 documents; gen.py seeds 2 to
#     9) of which mix.py (seeds 33-40) keeps every multi-step one, 8000 search, some of each
#     single-step kind and 3500 others, plus 12000-15000 name-heavy drills (seeds 17-24):
#   stage 6 (default 75): sql 8000, solver 4000, simulate 4000, calculator 5000; lr 1e-3;
#   stage 7 (default 32): the same on seed 3, lr 8e-4 (the 6-layer model shipped until session 8);
#   stage 8 (default 60): stage 7 made 10 layers deep by training/deepen.py (the new layers start
#     as identity), the same recipe on seed 4, lr 1e-3;
#   stage 9 (default 33): seed 5, lr 8e-4, two threads;
#   stage 10 (default 105): seed 6, sql 5000, simulate 4700, calculator 10000, lr 6e-4;
#   stage 11 (default 24): seed 7, simulate 4500, lr 4e-4, two threads;
#   stage 12 (default 72): seed 8 with the wider wording (gen.py --variety 1), lr 5e-4, two
#     threads;
#   stage 13 (default 40): seed 9, also --variety 1, lr 3e-4, two threads;
#   stage 14 (default 22): seed 10, also --variety 1, lr 2e-4, two threads;
#   stage 15 (default 55): seed 11 with --variety 1, 90000 dialogues of which the mix keeps
#     11000 search, solver 6000, simulate 7000, calculator 11000 and 4000 others; the answers
#     written after a tool result weigh 3 (train.py --answer-weight 3); lr 3e-4.
# Training is time-bounded, so the result depends on the machine's speed;
# the shipped model's card (models/MODEL_CARD.md) gives the tokens it saw and the time it took.
# Run it on an otherwise idle machine: two training threads that share the cores with other work
# wait on each other at every barrier (the shipped run used `chrt -r 1` for that reason).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/train}
budget=(62 45 33 65 40 75 32 60 33 105 24 72 40 22 55)
for i in $(seq 2 $#); do budget[i - 2]=${!i}; done
minutes=${budget[0]} minutes2=${budget[1]} minutes3=${budget[2]} minutes4=${budget[3]}
minutes5=${budget[4]} minutes6=${budget[5]} minutes7=${budget[6]}
mkdir -p "$out"

training/setup.sh
scripts/build.sh build
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
for seed in 4 5 6 7 8 9 10 11; do
  variety=$((seed >= 8 ? 1 : 0))
  python3 training/gen.py dialogues --seed $seed -n $((seed >= 11 ? 90000 : 60000)) --docs 8000 \
    --variety $variety \
    --out "$out/data$seed.jsonl"
  python3 training/gen.py copy --seed $((seed + 15)) --names 0.9 -n 12000 \
    --out "$out/copy-names-$((seed + 15)).jsonl"
done
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
# stages 8-15 (the 10-layer model): data seed, mix seed, the kinds' counts
mix_late() {  # SEED MIX_SEED SQL SIMULATE CALCULATOR [SEARCH SOLVER OTHER]
  python3 training/mix.py --data "$out/data$1.jsonl" --drills "$out/copy-names-$(($1 + 15)).jsonl" \
    --seed "$2" --search "${6:-8000}" --all-multi --kind sql="$3" --kind solver="${7:-4000}" \
    --kind simulate="$4" --kind calculator="$5" --other "${8:-3500}" --out "$out/train$(($1 + 4)).jsonl"
}
mix_late 4 35 8000 4000 5000
mix_late 5 36 8000 4000 5000
mix_late 6 37 5000 4700 10000
mix_late 7 38 5000 4500 10000
mix_late 8 39 5000 4500 10000
mix_late 9 40 5000 4500 10000
mix_late 10 41 5000 4500 10000
mix_late 11 42 5000 7000 11000 11000 6000 4000
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
$py training/deepen.py --checkpoint "$out/run7/ckpt.pt" --layers 10 --out "$out/deep10.pt"
# late_stage N LR SEED THREADS INIT [ANSWER_WEIGHT]: stage N (8-15) trains on train$N.jsonl into run$N
late_stage() {
  local n=$1 lr=$2 seed=$3 threads=$4 init=$5 answer_weight=${6:-1}
  $py training/train.py --data "$out/train$n.jsonl" --tokenizer "$out/stage1.gguf" \
    --init "$init" --out "$out/run$n" --bucket --no-bf16 --minutes "${budget[$((n - 1))]}" \
    --batch 4 --lr "$lr" --warmup 20 --prompt-weight 0.2 --seed "$seed" --threads "$threads" \
    --answer-weight "$answer_weight"
}
late_stage 8 1e-3 28 1 "$out/deep10.pt"
late_stage 9 8e-4 29 2 "$out/run8/ckpt.pt"
late_stage 10 6e-4 31 1 "$out/run9/ckpt.pt"
late_stage 11 4e-4 43 2 "$out/run10/ckpt.pt"
late_stage 12 5e-4 44 2 "$out/run11/ckpt.pt"
late_stage 13 3e-4 45 2 "$out/run12/ckpt.pt"
late_stage 14 2e-4 46 2 "$out/run13/ckpt.pt"
late_stage 15 3e-4 47 2 "$out/run14/ckpt.pt" 3
$py training/export_gguf.py --checkpoint "$out/run15/ckpt.pt" --tokenizer "$out/stage1.gguf" \
  --out "$out/agentrt-tiny.gguf" --name agentrt-tiny --type f16

training/evaluate.sh "$out/agentrt-tiny.gguf" "$out/eval"
