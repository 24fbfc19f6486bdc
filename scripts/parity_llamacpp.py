#!/usr/bin/env python3
"""Compare agentrt with llama.cpp on the same GGUF files: tokenization, logits after the prompt,
and greedy tokens. A development tool, not run by CI.

Models: random-weight llama files written with the `gguf` package (F32, F16, BF16, Q8_0, Q4_0,
which the package can quantize) and with agentrt's writer (Q4_K, Q6_K, Q4_K_M, which it cannot),
plus ../shared/data/stories260K when present. llama.cpp runs through llama-cpp-python.

usage: scripts/parity_llamacpp.sh [--build build] [--n-gen 32]   (sets up the venv, then runs this)
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import quants

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROMPT = "the quick brown fox, 3 times; über café 東京"


def vocabulary(n_vocab):
    """<unk> <s> </s>, the 256 byte tokens, then generated pieces (as agentrt's writer does)."""
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>"), scores.append(0.0), types.append(6)
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    i = 0
    while len(tokens) < n_vocab:
        v, word = i // 2, ""
        while True:
            word = letters[v % 26] + word
            if v < 26:
                break
            v = v // 26 - 1
        tokens.append(("\u2581" + word) if i % 2 == 0 else word)
        scores.append(-float(i))
        types.append(1)
        i += 1
    return tokens, scores, types


def write_with_gguf_package(path, qtype, seed, n_vocab=512, n_embd=256, n_layer=3, n_head=8,
                            n_head_kv=4, n_ff=512):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(f"parity-{qtype.name.lower()}")
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    tokens, scores, types = vocabulary(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def matrix(name, n_in, n_out, std=None):
        m = rng.normal(0.0, std if std else 1.0 / np.sqrt(n_in), size=(n_out, n_in)).astype(np.float32)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, m)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, m.astype(np.float16))
        else:
            w.add_tensor(name, quants.quantize(m, qtype), raw_dtype=qtype)

    def norm(name):
        w.add_tensor(name, rng.uniform(0.8, 1.2, size=n_embd).astype(np.float32))

    hd = n_embd // n_head
    matrix("token_embd.weight", n_embd, n_vocab, std=1.0)
    for il in range(n_layer):
        p = f"blk.{il}."
        norm(p + "attn_norm.weight")
        matrix(p + "attn_q.weight", n_embd, n_head * hd)
        matrix(p + "attn_k.weight", n_embd, n_head_kv * hd)
        matrix(p + "attn_v.weight", n_embd, n_head_kv * hd)
        matrix(p + "attn_output.weight", n_head * hd, n_embd)
        norm(p + "ffn_norm.weight")
        matrix(p + "ffn_gate.weight", n_embd, n_ff)
        matrix(p + "ffn_down.weight", n_ff, n_embd)
        matrix(p + "ffn_up.weight", n_embd, n_ff)
    norm("output_norm.weight")
    matrix("output.weight", n_embd, n_vocab)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def run_agentrt(agentrt, model, n_gen, workdir):
    logits_path = workdir / "logits.bin"
    out = subprocess.run([str(agentrt), "generate", "-m", str(model), "-p", PROMPT, "-n", str(n_gen),
                          "--ignore-eos", "--json", "--dump-logits", str(logits_path)],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["prompt_tokens"], result["tokens"], np.fromfile(logits_path, dtype=np.float32)


def run_llamacpp(model, prompt_tokens, n_gen):
    from llama_cpp import Llama
    llm = Llama(model_path=str(model), n_ctx=256, n_batch=256, n_threads=2, logits_all=True,
                verbose=False)
    tokenized = llm.tokenize(PROMPT.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(prompt_tokens)
    first_logits = np.array(llm.scores[len(prompt_tokens) - 1], dtype=np.float32)
    generated, margins = [], []
    for _ in range(n_gen):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        top2 = np.sort(row)[-2:]
        margins.append(float(top2[1] - top2[0]))
        t = int(np.argmax(row))
        generated.append(t)
        llm.eval([t])
    return tokenized, first_logits, generated, margins


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--n-gen", type=int, default=32)
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    agentrt = build / "cli" / "agentrt"
    writer = build / "bench" / "agentrt-random-model"

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        models = []
        for i, name in enumerate(["F32", "F16", "BF16", "Q8_0", "Q4_0"]):
            path = tmp / f"gguf-{name.lower()}.gguf"
            write_with_gguf_package(path, getattr(gguf.GGMLQuantizationType, name), seed=100 + i)
            models.append((f"{name} (gguf package)", path))
        for i, name in enumerate(["q4_k", "q6_k", "q4_k_m"]):
            path = tmp / f"agentrt-{name}.gguf"
            subprocess.run([str(writer), str(path), "--type", name, "--preset", "small", "--seed", str(200 + i)],
                           check=True)
            models.append((f"{name.upper()} (agentrt writer)", path))
        stories = ROOT.parent / "shared" / "data" / "stories260K" / "stories260K.gguf"
        if stories.exists():
            models.append(("stories260K F32", stories))

        for label, path in models:
            prompt, ours, our_logits = run_agentrt(agentrt, path, args.n_gen, tmp)
            tokenized, their_logits, theirs, margins = run_llamacpp(path, prompt, args.n_gen)
            diff = our_logits.astype(np.float64) - their_logits
            nmse = float(np.sum(diff ** 2) / np.sum(their_logits.astype(np.float64) ** 2))
            same = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), len(ours))
            rows.append({
                "model": label,
                "tokenization": "same" if tokenized == prompt else f"differs ({len(prompt)} vs {len(tokenized)})",
                "logits_nmse": nmse,
                "logits_max_abs": float(np.max(np.abs(diff))),
                "greedy_same": f"{same}/{len(ours)}",
                "margin_at_split": margins[same] if same < len(margins) else None,
            })
            print(json.dumps(rows[-1]), file=sys.stderr)

    print(f"| model | tokenization | logits NMSE | max abs diff | greedy tokens equal | top-2 margin at first split |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        margin = "-" if r["margin_at_split"] is None else f"{r['margin_at_split']:.4f}"
        print(f"| {r['model']} | {r['tokenization']} | {r['logits_nmse']:.2e} | {r['logits_max_abs']:.2e} | "
              f"{r['greedy_same']} | {margin} |")


if __name__ == "__main__":
    main()
