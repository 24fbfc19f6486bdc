#!/usr/bin/env python3
"""Prefill and decode speed of agentrt and llama.cpp (llama-cpp-python) side by side, on the same
GGUF file, in one run: medians over repetitions and the ratio agentrt / llama.cpp.

usage: bench/compare_llamacpp.py MODEL.gguf [MODEL...] [--agentrt build/cli/agentrt]
                                 [-p 128] [-n 64] [-t 2] [-r 5]
Needs llama-cpp-python (scripts/parity_llamacpp.sh sets up a venv with it).
"""
import argparse
import json
import pathlib
import random
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def agentrt_bench(agentrt, model, p, n, t, r):
    out = subprocess.run([str(agentrt), "bench", "-m", str(model), "-p", str(p), "-n", str(n),
                          "-t", str(t), "-r", str(r), "--json"], check=True, capture_output=True,
                         text=True).stdout
    rows = {row["test"]: row for row in json.loads(out)["results"]}
    return rows[f"pp{p}"]["samples"], rows[f"tg{n}"]["samples"]


def llamacpp_bench(model, p, n, t, r):
    from llama_cpp import Llama
    llm = Llama(model_path=str(model), n_ctx=max(p, n) + 16, n_batch=512, n_threads=t,
                n_threads_batch=t, verbose=False)
    n_vocab = llm.n_vocab()
    rng = random.Random(1234)
    pp, tg = [], []
    for rep in range(-1, r):  # rep -1 warms up
        tokens = [rng.randrange(3, n_vocab) for _ in range(p)]
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        pp_rate = p / (time.perf_counter() - start)
        llm.reset()
        llm.eval([1])
        start = time.perf_counter()
        for i in range(n):
            llm.eval([tokens[i % p]])
        tg_rate = n / (time.perf_counter() - start)
        if rep >= 0:
            pp.append(pp_rate)
            tg.append(tg_rate)
    return pp, tg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--agentrt", default=str(ROOT / "build" / "cli" / "agentrt"))
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=5)
    args = ap.parse_args()
    print(f"| model | test | agentrt t/s (median, min-max) | llama.cpp t/s (median, min-max) | ratio |")
    print("|---|---|---|---|---|")
    for model in args.models:
        ours = agentrt_bench(args.agentrt, model, args.p, args.n, args.t, args.r)
        theirs = llamacpp_bench(model, args.p, args.n, args.t, args.r)
        for test, a, b in ((f"pp{args.p}", ours[0], theirs[0]), (f"tg{args.n}", ours[1], theirs[1])):
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"| {pathlib.Path(model).name} | {test} | {ma:.2f} ({min(a):.2f}-{max(a):.2f}) | "
                  f"{mb:.2f} ({min(b):.2f}-{max(b):.2f}) | {ma / mb:.2f} |", flush=True)


if __name__ == "__main__":
    main()
