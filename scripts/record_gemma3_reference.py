#!/usr/bin/env python3
"""Records what llama.cpp does with Gemma 3 270M (Q4_K_M), for tests/engine/test_gemma3.cpp:
token ids of multilingual and chat-formatted texts, and greedy continuations of nineteen prompts
on the Q4_K_M file (greedy.json) and of the first five on the same weights dequantized to F32
(greedy_f32.json).

llama.cpp runs through llama-cpp-python's low-level calls: `tokenize` (with BOS, as the GGUF's
tokenizer.ggml.add_bos_token asks, and with special-token parsing off and on), then `eval` of
the prompt tokens in one batch and of each generated token alone, taking the argmax of the raw
logits (no sampler). The margin between the best and second-best logit is kept with each token,
so that a test failure at a near-tie can be told from a real difference.

On the Q4_K_M file llama.cpp does not agree with itself: its products round activations to 8
bits, and a different batch size sums in another order, flips a few of those roundings, and the
flips grow through the layers to logits 0.1-0.5 RMS apart. So each Q4_K_M continuation is also
decoded twice more, with the prompt fed one token at a time (n_batch 1) and with the whole
sequence evaluated again in one batch at every step; `llama_cpp_stable` counts the leading
tokens on which all three runs agree. On the first five prompts the n_batch 1 decoding keeps
11, 23, 15, 40 and 8 of the 40 tokens: that is how close llama.cpp comes to itself.

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
    "The quick brown fox jumps over the lazy dog. The quick brown fox",
    "1, 2, 3, 4, 5, 6, 7, 8,",
    "<start_of_turn>user\nTranslate to German: Good morning, how are you?<end_of_turn>\n"
    "<start_of_turn>model\n",
    "<start_of_turn>user\nList the planets of the solar system in order from the Sun."
    "<end_of_turn>\n<start_of_turn>model\n",
    "import numpy as np\n\ndef softmax(x):\n",
    "Der Rhein ist ein Fluss in Europa. Er entspringt in",
    "SELECT name, price FROM products WHERE",
    "Monday, Tuesday, Wednesday,",
    "<start_of_turn>user\nWhat is the capital of Japan? Answer in one word.<end_of_turn>\n"
    "<start_of_turn>model\n",
    "東京は日本の首都です。",
    "The chemical symbol for gold is",
    "<start_of_turn>user\nWrite a Python function that reverses a string.<end_of_turn>\n"
    "<start_of_turn>model\n",
    "Once upon a time, there was a little robot named",
    "int main(void) {\n    printf(\"",
]
N_F32_PROMPTS = 5  # greedy_f32.json: the first five


def find_model():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_gemma3.py")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("cannot find the model: " + result.stderr)
    return result.stdout.strip()


def last_logits(llm):
    """The logits after the last evaluated token, as float64."""
    if llm._logits_all:
        return np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    # Without logits_all llama-cpp-python keeps no scores; the context holds the last row.
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)


def greedy(llm, prompt_tokens, n_gen, recompute=False):
    """Greedy tokens and margins: the prompt in llm's batches, then each new token alone, or
    (recompute) the whole sequence evaluated again in one batch for every token."""
    llm.reset()
    llm.eval(prompt_tokens)
    tokens, margins = [], []
    for _ in range(n_gen):
        row = last_logits(llm)
        top2 = np.sort(row)[-2:]
        t = int(np.argmax(row))
        tokens.append(t)
        margins.append(round(float(top2[1] - top2[0]), 4))
        if recompute:
            llm.reset()
            llm.eval(prompt_tokens + tokens)
        else:
            llm.eval([t])
    return tokens, margins


def leading_same(*runs):
    n = 0
    while all(n < len(r) for r in runs) and all(r[n] == runs[0][n] for r in runs):
        n += 1
    return n


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


def greedy_cases(llm, prompts, n_gen, llm_by_token=None, llm_last=None):
    """The cases of greedy.json; with llm_by_token (the same model with n_batch 1) and llm_last
    (with logits for the last token of a batch only), each with llama.cpp's two other decodings
    and the tokens all three agree on."""
    cases = []
    for prompt in prompts:
        # As `agentrt generate` encodes a prompt: BOS, special-token text parsed only where the
        # prompt is chat-formatted (the dialect's text), else spelled out.
        special = prompt.startswith("<start_of_turn>")
        prompt_tokens = llm.tokenize(prompt.encode(), add_bos=True, special=special)
        tokens, margins = greedy(llm, prompt_tokens, n_gen)
        text = llm.detokenize(tokens).decode("utf-8", errors="replace")
        case = {"prompt": prompt, "parse_special": special, "prompt_tokens": prompt_tokens,
                "greedy_tokens": tokens, "margins": margins, "text": text}
        if llm_by_token is not None:
            by_token, _ = greedy(llm_by_token, prompt_tokens, n_gen)
            recomputed, _ = greedy(llm_last, prompt_tokens, n_gen, recompute=True)
            case["greedy_tokens_prompt_by_token"] = by_token
            case["greedy_tokens_recomputed"] = recomputed
            case["llama_cpp_stable"] = leading_same(tokens, by_token, recomputed)
        cases.append(case)
        print(repr(prompt[:40]), "->", repr(text[:60]), "min margin %.3f" % min(margins),
              "stable %s" % case.get("llama_cpp_stable", "-"))
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

    # logits_all=False: logits of a batch's last token only (the others would cost a product
    # with the 262k-token output matrix each).
    llm_by_token = Llama(model_path=model, n_ctx=512, n_batch=1, n_ubatch=1,
                         n_threads=args.threads, logits_all=False, verbose=False)
    llm_last = Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=args.threads,
                     logits_all=False, verbose=False)
    cases = greedy_cases(llm, GREEDY_PROMPTS, args.n_gen, llm_by_token, llm_last)
    del llm, llm_by_token, llm_last
    with tempfile.TemporaryDirectory() as tmp:
        f32_path = pathlib.Path(tmp) / "gemma3-f32.gguf"
        dequantize_file(model, f32_path)
        llm = Llama(model_path=str(f32_path), n_ctx=512, n_batch=512, n_threads=args.threads,
                    logits_all=True, verbose=False)
        cases_f32 = greedy_cases(llm, GREEDY_PROMPTS[:N_F32_PROMPTS], args.n_gen)
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
