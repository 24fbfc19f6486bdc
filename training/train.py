"""Trains the default model on chunked dialogues.

    python training/train.py --data dialogues.jsonl --tokenizer tok.model --out run/ \
        --minutes 60 [--dim 256 --layers 6 --ctx 1024] [--resume]

Each line of --data is {"chunks": [[text, is_model_output], ...]}. A dialogue is BOS followed by
its chunks, each tokenized on its own by tokenizer.encode and concatenated, as the runtime
tokenizes prompt deltas and model outputs. The loss covers only the tokens of model-output
chunks (each ends with "<|im_end|>", which is predicted too). Dialogues are packed whole into
rows of --ctx tokens; attention does not cross dialogues (model.Llama `doc`).

The run stops at --minutes or --max-tokens, whichever comes first; the cosine schedule is planned
over that budget (for time, from the throughput measured over the first steps). run/ckpt.pt is
written periodically and at the end; --resume continues from it. Logs go to stdout and
run/train.log.
"""

import argparse
import dataclasses
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tokenizer as tok  # noqa: E402
from model import Config, Llama  # noqa: E402

MEASURE_STEPS = 6  # steps timed (after 2 warm-up steps) to plan a --minutes schedule


# Classes of a token in the `target` arrays: not model output (a prompt, question or tool
# result), model output, and model output that answers after a tool result (--answer-weight).
PROMPT, OUTPUT, ANSWER = 0, 1, 2


def tokenize_dialogue(sp, chunks):
    """-> (ids, target) lists: BOS, then each chunk's tokens; target holds each token's class."""
    ids, target = [tok.BOS_ID], [PROMPT]
    seen_result = False
    for text, is_model_output in chunks:
        piece = tok.encode(sp, text)
        ids += piece
        if not is_model_output:
            cls = PROMPT
            seen_result = seen_result or "<tool_response>" in text
        else:
            cls = ANSWER if seen_result and "<tool_call>" not in text else OUTPUT
        target += [cls] * len(piece)
    return ids, target


def load_dialogues(path, sp, n_ctx, long_policy):
    """Tokenized dialogues of the JSONL file, with counts of those longer than n_ctx."""
    dialogues, n_long = [], 0
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            ids, target = tokenize_dialogue(sp, json.loads(line)["chunks"])
            if len(ids) > n_ctx:
                n_long += 1
                if long_policy == "drop":
                    continue
                ids, target = ids[:n_ctx], target[:n_ctx]
            dialogues.append((ids, target))
    return dialogues, n_long


def pack(dialogues, n_ctx):
    """Whole dialogues packed into rows of n_ctx: tokens, target (token classes) and doc
    (per-row dialogue number; -1 on padding), each (n_rows, n_ctx)."""
    rows, row = [], []
    for d in dialogues:
        if sum(len(ids) for ids, _ in row) + len(d[0]) > n_ctx:
            rows.append(row)
            row = []
        row.append(d)
    if row:
        rows.append(row)
    return pack_rows(rows, n_ctx)


def pack_rows(rows, n_ctx):
    """Rows, each a list of dialogues, as the tensors `pack` returns."""
    tokens = np.zeros((len(rows), n_ctx), np.int16)
    target = np.zeros((len(rows), n_ctx), np.int8)
    doc = np.full((len(rows), n_ctx), -1, np.int16)
    for r, row in enumerate(rows):
        pos = 0
        for i, (ids, tgt) in enumerate(row):
            tokens[r, pos:pos + len(ids)] = ids
            target[r, pos:pos + len(ids)] = tgt
            doc[r, pos:pos + len(ids)] = i
            pos += len(ids)
    return torch.from_numpy(tokens), torch.from_numpy(target), torch.from_numpy(doc)


def one_per_row(dialogues, n_ctx):
    """One dialogue per row, rows sorted by length (for --bucket): tokens, target, doc (0 on
    the dialogue, -1 on padding), each (n_rows, n_ctx)."""
    dialogues = sorted(dialogues, key=lambda d: len(d[0]))
    return pack_rows([[d] for d in dialogues], n_ctx)


def buckets(doc, tokens_per_step):
    """Batches of consecutive (length-sorted) rows holding at most tokens_per_step padded tokens:
    a list of (first row, end row, length)."""
    lengths = (doc >= 0).sum(dim=1).tolist()
    out, start = [], 0
    while start < len(lengths):
        end = start + 1
        while end < len(lengths) and (end + 1 - start) * lengths[end] <= tokens_per_step:
            end += 1
        out.append((start, end, lengths[end - 1]))
        start = end
    return out


def batch_loss(model, tokens, target, doc, bf16, prompt_weight=0.0, valid=None, answer_weight=1.0):
    """Mean cross-entropy over model-output positions, and their count. Rows (B, n_ctx): position
    t predicts token t + 1; target holds the token classes (PROMPT, OUTPUT, ANSWER). With
    PROMPT_WEIGHT > 0 the other tokens of the dialogues (VALID: not padding; default doc >= 0)
    count too, each with that weight: the prompts, questions and tool results are where copying
    can be learned from far more examples than the answers give. ANSWER_WEIGHT weighs the answers
    written after a tool result, where the model must pick the asked-for fact out of the result."""
    tokens = tokens.long()
    x, y = tokens[:, :-1], tokens[:, 1:]
    cls = target[:, 1:]  # a target class is only set inside a dialogue, never on its BOS
    want = cls > 0
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x, None if doc is None else doc[:, :-1].long())
    n = int(want.sum())
    if n == 0:
        return logits.sum() * 0.0, 0
    if prompt_weight <= 0 and answer_weight == 1.0:
        return F.cross_entropy(logits[want].float(), y[want]), n
    if valid is None:
        valid = doc >= 0
    valid = valid[:, 1:]
    weight = torch.full_like(y, prompt_weight, dtype=torch.float32)
    weight[cls == OUTPUT] = 1.0
    weight[cls == ANSWER] = answer_weight
    weight = weight * valid
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1),
                           reduction="none")
    return (loss * weight.reshape(-1)).sum() / weight.sum(), n


class Schedule:
    """Linear warm-up, then cosine decay to min_lr_frac * lr at total_steps."""

    def __init__(self, lr, warmup, min_lr_frac, total_steps=None):
        self.lr, self.warmup, self.min_lr_frac, self.total_steps = lr, warmup, min_lr_frac, total_steps

    def __call__(self, step):
        if self.total_steps is None or step < self.warmup:
            return self.lr * min(1.0, (step + 1) / self.warmup)
        t = min(1.0, (step - self.warmup) / max(1, self.total_steps - self.warmup))
        return self.lr * (self.min_lr_frac + (1 - self.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def evaluate(model, data, batch, bf16):
    model.eval()
    total, count = 0.0, 0
    for i in range(0, data[0].shape[0], batch):
        loss, n = batch_loss(model, *(d[i:i + batch] for d in data), bf16)
        total += float(loss) * n
        count += n
    model.train()
    return total / max(1, count)


def save_checkpoint(path, state):
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="JSONL of {'chunks': [[text, is_model_output]]}")
    ap.add_argument("--tokenizer", required=True, help="sentencepiece .model")
    ap.add_argument("--out", required=True, help="run folder: ckpt.pt, train.log")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--head-dim", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=0, help="0: as many as query heads")
    ap.add_argument("--ff", type=int, default=0, help="0: ~2.67 * dim, a multiple of 32")
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=8, help="rows of --ctx tokens per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100, help="steps (at most 10%% of the plan)")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--minutes", type=float, default=0, help="time budget (0: none)")
    ap.add_argument("--max-tokens", type=float, default=0, help="token budget (0: none)")
    ap.add_argument("--eval-frac", type=float, default=0.02, help="held-out dialogues")
    ap.add_argument("--eval-rows", type=int, default=16, help="at most this many eval rows")
    ap.add_argument("--eval-every", type=int, default=200, help="steps")
    ap.add_argument("--log-every", type=int, default=10, help="steps")
    ap.add_argument("--ckpt-minutes", type=float, default=10)
    ap.add_argument("--long", choices=["drop", "truncate"], default="drop",
                    help="dialogues longer than --ctx")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-weight", type=float, default=0.0,
                    help="loss weight of the tokens that are not model output (0: answers only)")
    ap.add_argument("--answer-weight", type=float, default=1.0,
                    help="loss weight of the answers written after a tool result (model output: 1)")
    ap.add_argument("--init", default="",
                    help="start from this checkpoint's or F32/F16 GGUF's weights and shape "
                         "(a new schedule)")
    ap.add_argument("--bucket", action="store_true",
                    help="one dialogue per row, batches of similar length cut to their longest "
                         "(no packing: attention costs the dialogue's length, not --ctx)")
    ap.add_argument("--no-bf16", action="store_true", help="train in float32")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    args = ap.parse_args(argv)
    if args.minutes <= 0 and args.max_tokens <= 0:
        ap.error("give --minutes or --max-tokens")
    return args


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "a") as log_file:
        run(args, out, log_file)


def run(args, out, log_file):
    def log(msg):
        print(msg, flush=True)
        log_file.write(msg + "\n")
        log_file.flush()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    bf16 = not args.no_bf16
    ckpt_path = out / "ckpt.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu") if args.resume else None

    sp = tok.load(args.tokenizer)
    t0 = time.time()
    dialogues, n_long = load_dialogues(args.data, sp, args.ctx, args.long)
    random.Random(args.seed).shuffle(dialogues)
    n_eval = max(1, int(len(dialogues) * args.eval_frac)) if len(dialogues) > 1 else 0
    train_data = (one_per_row if args.bucket else pack)(dialogues[n_eval:], args.ctx)
    eval_data = tuple(d[:args.eval_rows] for d in pack(dialogues[:n_eval], args.ctx))
    n_target = int((train_data[1] > 0).sum())
    log(f"data: {len(dialogues)} dialogues ({n_long} longer than {args.ctx}: {args.long}), "
        f"{n_eval} held out; {train_data[0].shape[0]} rows, fill "
        f"{float((train_data[2] >= 0).float().mean()):.2f}, {n_target} target tokens "
        f"({time.time() - t0:.1f} s)")

    init_state = None
    if args.init and not ckpt:
        if args.init.endswith(".gguf"):
            from export_gguf import load_gguf
            init_state, cfg = load_gguf(args.init)
        else:
            init = torch.load(args.init, map_location="cpu")
            init_state, cfg = init["model"], Config(**init["config"])
    if ckpt:
        cfg = Config(**ckpt["config"])
    elif init_state is not None:
        pass  # the --init model's shape
    else:
        cfg = Config(n_vocab=sp.get_piece_size(), n_ctx=args.ctx, n_embd=args.dim,
                     n_layer=args.layers, head_dim=args.head_dim, n_head_kv=args.kv_heads,
                     n_ff=args.ff)
    model = Llama(cfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    rows_per_step = min(args.batch, train_data[0].shape[0])
    tokens_per_step = rows_per_step * (args.ctx - 1)
    schedule = Schedule(args.lr, args.warmup, args.min_lr_frac)
    step, tokens_seen, elapsed, epoch, cursor = 0, 0, 0.0, 0, 0
    if init_state is not None:
        model.load_state_dict(init_state)
        log(f"weights from {args.init}")
    if ckpt:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, tokens_seen, elapsed = ckpt["step"], ckpt["tokens_seen"], ckpt["elapsed"]
        epoch, cursor = ckpt["epoch"], ckpt["cursor"]
        schedule.total_steps, schedule.warmup = ckpt["total_steps"], ckpt["warmup"]
        torch.set_rng_state(ckpt["torch_rng"])
        log(f"resumed at step {step}, {tokens_seen} tokens, {elapsed / 60:.1f} min")
    if args.max_tokens > 0 and args.minutes <= 0:  # a token budget is planned, and re-planned
        schedule.total_steps = max(1, int(args.max_tokens // tokens_per_step))
        schedule.warmup = min(args.warmup, max(1, schedule.total_steps // 10))
    log(f"model: {model.n_params() / 1e6:.2f}M params {dataclasses.asdict(cfg)}; "
        f"{tokens_per_step} tokens/step, bf16 {bf16}, threads {args.threads}")

    def checkpoint():
        save_checkpoint(ckpt_path, {
            "config": dataclasses.asdict(cfg), "model": model.state_dict(),
            "optimizer": opt.state_dict(), "step": step, "tokens_seen": tokens_seen,
            "elapsed": elapsed, "epoch": epoch, "cursor": cursor,
            "total_steps": schedule.total_steps, "warmup": schedule.warmup,
            "torch_rng": torch.get_rng_state(), "args": vars(args)})

    def plan(step, per_step):
        evals = (budget_s / per_step) / args.eval_every  # rough eval overhead, in steps
        left = budget_s - (time.time() - run_start) - evals * per_step
        total = step + max(1, int(0.97 * left / per_step))
        if args.max_tokens > 0:
            total = min(total, max(step + 1, int(args.max_tokens // tokens_per_step)))
        first = schedule.total_steps is None
        schedule.total_steps = total
        schedule.warmup = min(args.warmup, max(1, total // 10))
        if first or abs(total - logged_plan[0]) > 0.1 * logged_plan[0]:
            logged_plan[0] = total
            log(f"plan: {per_step:.2f} s/step -> {total} steps, "
                f"{total * tokens_per_step / 1e6:.2f}M tokens")

    logged_plan = [0]  # total steps of the last plan logged

    bucket_list = buckets(train_data[2], tokens_per_step) if args.bucket else None

    def order(epoch):
        n = len(bucket_list) if bucket_list else train_data[0].shape[0]
        return torch.randperm(n, generator=torch.Generator().manual_seed(args.seed + epoch))

    def next_batch():
        """The next batch's (tokens, target, doc) and its token count; advances the cursor."""
        nonlocal epoch, cursor, perm
        take = 1 if bucket_list else rows_per_step
        if cursor + take > len(perm):
            epoch, cursor = epoch + 1, 0
            perm = order(epoch)
        if bucket_list:
            start, end, length = bucket_list[int(perm[cursor])]
            cursor += 1
            tokens, target, doc = (d[start:end, :length] for d in train_data)
            return (tokens, target, None, doc >= 0), tokens.numel()
        idx = perm[cursor:cursor + rows_per_step]
        cursor += rows_per_step
        batch = tuple(d[idx] for d in train_data)
        return batch + (batch[2] >= 0,), tokens_per_step

    perm = order(epoch)
    budget_s = args.minutes * 60
    run_start = time.time() - elapsed
    last_ckpt = time.time()
    window_t, window_tokens, window_loss, window_n = time.time(), 0, 0.0, 0
    measure_from = None
    model.train()
    while True:
        elapsed = time.time() - run_start
        if schedule.total_steps is not None and step >= schedule.total_steps:
            break
        if args.max_tokens > 0 and tokens_seen >= args.max_tokens:
            break
        if budget_s and elapsed >= budget_s:
            log(f"time budget of {args.minutes} min reached")
            break
        batch, batch_tokens = next_batch()
        lr = schedule(step)
        for group in opt.param_groups:
            group["lr"] = lr
        tokens, target, doc, valid = batch
        loss, n = batch_loss(model, tokens, target, doc, bf16, args.prompt_weight, valid,
                             args.answer_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        tokens_seen += batch_tokens
        window_tokens += batch_tokens
        window_loss += float(loss) * n
        window_n += n

        # Plan a time budget from the throughput since step 2 (after warm-up allocations): first
        # after MEASURE_STEPS steps, then again at each log line in the first quarter of the
        # budget, as a shared machine's speed drifts.
        if budget_s and step == 2 and schedule.total_steps is None:
            measure_from = time.time()
        if measure_from and step >= 2 + MEASURE_STEPS and (
                schedule.total_steps is None or
                (step % args.log_every == 0 and time.time() - run_start < budget_s / 4)):
            plan(step, (time.time() - measure_from) / (step - 2))
        if step % args.log_every == 0:
            now = time.time()
            log(f"step {step} | loss {window_loss / max(1, window_n):.4f} | lr {lr:.2e} | "
                f"{window_tokens / (now - window_t):.0f} tok/s | {tokens_seen} tokens | "
                f"{(now - run_start) / 60:.1f} min")
            window_t, window_tokens, window_loss, window_n = now, 0, 0.0, 0
        if n_eval and step % args.eval_every == 0:
            log(f"step {step} | eval loss {evaluate(model, eval_data, args.batch, bf16):.4f}")
            window_t = time.time()  # eval time is not training throughput
        if time.time() - last_ckpt >= args.ckpt_minutes * 60:
            elapsed = time.time() - run_start
            checkpoint()
            last_ckpt = time.time()

    elapsed = time.time() - run_start
    checkpoint()
    final = f"eval loss {evaluate(model, eval_data, args.batch, bf16):.4f}; " if n_eval else ""
    log(f"done: step {step}, {final}{tokens_seen} tokens seen in {elapsed / 60:.2f} min "
        f"({tokens_seen / max(elapsed, 1e-9):.0f} tok/s overall); checkpoint {ckpt_path}")


if __name__ == "__main__":
    main()
