#!/usr/bin/env python3
"""Records what llama.cpp does with Gemma 3 270M (Q4_K_M), for tests/engine/test_gemma3.cpp:
token ids of multilingual and chat-formatted texts, and greedy continuations of five prompts,
on the Q4_K_M file (greedy.json) and on the same weights dequantized to F32 (greedy_f32.json).

llama.cpp runs through llama-cpp-python's low-level calls: `tokenize` (with BOS, as the GGUF's
tokenizer.ggml.add_bos_token asks, and with special-token parsing off and on), then `eval` of
the prompt tokens in one batch and of each generated token alone, taking the argmax of the raw
logits (no sampler). The margin between the best and second-best logit is kept with each token,
so that a test failure at a near-tie can be told from a real difference.

The F32 file is written next to the output's temporary directory with the gguf package
(every tensor through gguf.quants.dequantize, metadata copied); the test writes its own with
agentrt's GGUF writer and dequantize_row, which give the same floats. On that file llama.cpp
rounds no activation to 8 bits, so any difference from it is one of the forward pass itself.

    scripts/record_gemma3_reference.py [--model FILE] [--n-gen 40] [--out tests/data/gemma3]

The model comes from scripts/fetch_gemma3.py unless --model is given. Needs llama-cpp-python
(0.3.x; /work/venv-llama has it) and numpy. The output was made with llama-cpp-python 0.3.36.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
from importlib.metadata import version

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Text the tokenizer must split exactly as llama.cpp does: many scripts, accents, emoji (several
# code points), digits, whitespace runs, tabs and newlines, code, and text that looks like markup.
TOKENIZE_TEXTS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "Héllo, wörld: façade, naïve, coöperate, Ærøskøbing, ñandú, Łódź, İstanbul.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Γαζίες καὶ μυρτιὲς δὲν θὰ βρῶ.",
    "東京は晴れ。今日は良い天気ですね！ 北京欢迎你。서울의 날씨는 맑습니다. "
    "مرحبا بالعالم. שלום עולם. नमस्ते दुनिया। สวัสดีชาวโลก",
    "Emoji: 🙂👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ — “quotes” ‘single’ «guillemets» …",
    "  two leading spaces,\ttab,\n\nnewlines,   three spaces\n\n\n\nand trailing   ",
    "def f(x):\n    return x**2 + 3.14159 * x - 42  # 1234567890\n\tif a != b: {'k': [1, 2]}",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<b>bold</b> &amp; [link](http://example.com/a_b?c=d&e=%20) @user #tag $100 ~50% ^_^",
]

# Prompts for greedy continuations (the base model continues text; no chat template).
GREEDY_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "Il était une fois, dans un petit village au bord de la mer,",
    "Q: What is 12 times 7?\nA:",
    "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n",
]


def find_model():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_gemma3.py")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("cannot find the model: " + result.stderr)
    return result.stdout.strip()


def greedy(llm, prompt_tokens, n_gen):
    llm.reset()
    llm.eval(prompt_tokens)
    tokens, margins = [], []
    for _ in range(n_gen):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        top2 = np.sort(row)[-2:]
        t = int(np.argmax(row))
        tokens.append(t)
        margins.append(round(float(top2[1] - top2[0]), 4))
        llm.eval([t])
    return tokens, margins


def dequantize_file(src, dst):
    """Writes `src` with every tensor dequantized to F32 and the same metadata."""
    import gguf
    reader = gguf.GGUFReader(str(src))
    writer = gguf.GGUFWriter(str(dst), reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        kind = field.types[0]
        sub = field.types[1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), kind, sub_type=sub)
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        writer.add_tensor(t.name, values.reshape([int(n) for n in reversed(t.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def greedy_cases(llm, n_gen):
    cases = []
    for prompt in GREEDY_PROMPTS:
        # As `agentrt generate` encodes a prompt: BOS, special-token text parsed only where the
        # prompt is chat-formatted (the dialect's text), else spelled out.
        special = prompt.startswith("<start_of_turn>")
        prompt_tokens = llm.tokenize(prompt.encode(), add_bos=True, special=special)
        tokens, margins = greedy(llm, prompt_tokens, n_gen)
        text = llm.detokenize(tokens).decode("utf-8", errors="replace")
        cases.append({"prompt": prompt, "parse_special": special, "prompt_tokens": prompt_tokens,
                      "greedy_tokens": tokens, "margins": margins, "text": text})
        print(repr(prompt[:40]), "->", repr(text[:80]), "min margin %.3f" % min(margins))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--n-gen", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "tests" / "data" / "gemma3")
    args = ap.parse_args()
    model = args.model or find_model()

    from llama_cpp import Llama
    llm = Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=args.threads,
                logits_all=True, verbose=False)
    source = {"llama_cpp_python": version("llama_cpp_python"), "model": pathlib.Path(model).name,
              "script": "scripts/record_gemma3_reference.py"}

    tokenize = []
    for text in TOKENIZE_TEXTS:
        tokenize.append({
            "text": text,
            "ids": llm.tokenize(text.encode(), add_bos=True, special=False),
            "ids_parse_special": llm.tokenize(text.encode(), add_bos=True, special=True),
        })

    cases = greedy_cases(llm, args.n_gen)
    del llm
    with tempfile.TemporaryDirectory() as tmp:
        f32_path = pathlib.Path(tmp) / "gemma3-f32.gguf"
        dequantize_file(model, f32_path)
        llm = Llama(model_path=str(f32_path), n_ctx=512, n_batch=512, n_threads=args.threads,
                    logits_all=True, verbose=False)
        cases_f32 = greedy_cases(llm, args.n_gen)
        del llm

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "tokenize.json", "w", encoding="utf-8") as f:
        json.dump({"source": source, "cases": tokenize}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(args.out / "greedy.json", "w", encoding="utf-8") as f:
        json.dump({"source": source, "n_gen": args.n_gen, "cases": cases}, f, ensure_ascii=False,
                  indent=1)
        f.write("\n")
    with open(args.out / "greedy_f32.json", "w", encoding="utf-8") as f:
        json.dump({"source": dict(source, weights="dequantized to F32 with gguf.quants"),
                   "n_gen": args.n_gen, "cases": cases_f32}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
