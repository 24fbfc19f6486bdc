"""Smoke training run: a tokenizer and a tiny synthetic tool-call dataset, then train.py for a
few minutes per model size; prints the first and last loss and the throughput.

    training/.venv/bin/python training/tests/smoke_train.py [--minutes 2] [--dims 192 256]
"""

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
import tokenizer as tok  # noqa: E402

NAMES = ["Zorvex", "Ferren", "Kestrel", "Ilse", "Tartu", "Quell", "Orbis", "Vallis", "Marten"]


def dialogue(rng):
    """A chatml calculator dialogue as train.py chunks: [text, is_model_output]."""
    a, b = rng.randint(2, 999), rng.randint(2, 999)
    who = rng.choice(NAMES) + rng.choice(NAMES).lower()
    call = json.dumps({"name": "calc", "arguments": {"expr": f"{a}+{b}"}})
    return [
        ["<|im_start|>system\nYou can call tools.<|im_end|>\n<|im_start|>user\n"
         f"{who} has {a} apples and buys {b} more. How many now?<|im_end|>\n"
         "<|im_start|>assistant\n", False],
        [f"<tool_call>\n{call}\n</tool_call><|im_end|>", True],
        [f"\n<|im_start|>user\n<tool_response>\n{a + b}\n</tool_response><|im_end|>\n"
         "<|im_start|>assistant\n", False],
        [f"{who} has {a + b} apples now.<|im_end|>", True],
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--dims", type=int, nargs="+", default=[192, 256])
    ap.add_argument("--dialogues", type=int, default=3000)
    args = ap.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = [dialogue(rng) for _ in range(args.dialogues)]
        with open(tmp / "data.jsonl", "w") as f:
            for d in data:
                f.write(json.dumps({"chunks": d}) + "\n")
        with open(tmp / "corpus.txt", "w") as f:
            for line in open(ROOT / "examples/data/docs.jsonl"):
                f.write(json.loads(line)["text"] + "\n")
            for d in data[:500]:
                f.write("".join(text for text, _ in d) + "\n")
        model = tok.train(str(tmp / "corpus.txt"), str(tmp / "tok"), vocab_size=1024)
        for dim in args.dims:
            run = tmp / f"run{dim}"
            cmd = [sys.executable, str(ROOT / "training/train.py"), "--data", str(tmp / "data.jsonl"),
                   "--tokenizer", model, "--out", str(run), "--dim", str(dim), "--layers", "6",
                   "--ctx", "1024", "--batch", "1", "--minutes", str(args.minutes),
                   "--log-every", "2", "--eval-every", "1000000", "--warmup", "5", "--lr", "3e-3"]
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
            log = (run / "train.log").read_text()
            losses = [float(x) for x in re.findall(r"\| loss ([\d.]+)", log)]
            rates = [float(x) for x in re.findall(r"\| (\d+) tok/s", log)]
            steady = rates[1:] or rates
            print(f"dim {dim}: loss {losses[0]:.3f} -> {losses[-1]:.3f}; "
                  f"{sum(steady) / len(steady):.0f} tok/s (mean of logged windows after the "
                  f"first)", flush=True)
            assert losses[-1] < losses[0], "loss did not fall"


if __name__ == "__main__":
    main()
