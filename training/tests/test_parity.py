"""Parity of the Python training side with the C++ runtime (build/cli/agentrt):
token ids of tokenizer.encode against the runtime's, and torch logits against
`agentrt generate --dump-logits` for a random model exported by export_gguf.py.

    training/.venv/bin/python -m unittest discover -s training/tests -v

AGENTRT_CLI overrides the binary (default build/cli/agentrt); without it the test says skipped.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
import export_gguf  # noqa: E402
import tokenizer as tok  # noqa: E402
from model import Config, Llama  # noqa: E402

CLI = Path(os.environ.get("AGENTRT_CLI", ROOT / "build/cli/agentrt"))

CHATML_LINES = [
    "<|im_start|>system\nYou are a helpful assistant with tools.<|im_end|>",
    "<|im_start|>user\nWhat is 12 * 37?<|im_end|>",
    '<|im_start|>assistant\n<tool_call>\n{"name": "calc", "arguments": {"expr": "12*37"}}\n'
    "</tool_call><|im_end|>",
    "<|im_start|>user\n<tool_response>\n444\n</tool_response><|im_end|>",
    "<|im_start|>assistant\nThe answer is 444.<|im_end|>",
    '<|im_start|>assistant\n<tool_call>\n{"name": "search", "arguments": {"query": "Zorvex"}}\n'
    "</tool_call><|im_end|>",
    "    indented code:\n        return x  # with  double  spaces",
]

# Texts without control pieces: the CLI encodes its prompt with parse_special=false.
PLAIN_TEXTS = [
    "Zorvex Labs is a battery research company founded in 2011 by Ilse Marten in Tartu.",
    "user\nWhat is 12 * 37?",
    '<tool_call>\n{"name": "calc", "arguments": {"expr": "12*37"}}\n</tool_call>',
    "  leading spaces,   runs of   spaces, trailing  ",
    "\n\nnewlines\n\n\nand\ttabs\t",
    "Unicode: café, naïve, Ærøskøbing, 東京, emoji 🚀 (byte fallback)",
    "Qwrtzplonk Vexborough-Ulmquist 98765.4321e-7",
    "x",
    " ",
    "",
]

# With control pieces, for the split logic of tokenizer.encode.
CHAT_TEXTS = [
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|im_end|><|im_start|><|im_start|>x<|im_end",
    "before <s> and </s> after",
]


def nmse(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.sum((a - b) ** 2) / np.sum(b ** 2))


def cli_generate(gguf_path, prompt, *extra):
    out = subprocess.run(
        [str(CLI), "generate", "-m", str(gguf_path), "-p", prompt, "-t", "2", "--json", *extra],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def randomise(model, seed):
    """Weights of unit-scale activations (as bench/random_model.cpp draws them), so that logits
    are far from uniform and the comparison means something."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(0.8 + 0.4 * torch.rand(p.shape, generator=g))
            elif name == "token_embd.weight":
                p.normal_(0.0, 1.0, generator=g)
            else:
                p.normal_(0.0, p.shape[1] ** -0.5, generator=g)


@unittest.skipUnless(CLI.exists(), f"{CLI} is not built")
class RuntimeParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = Path(cls.tmp.name)
        corpus = tmp / "corpus.txt"
        with open(ROOT / "examples/data/docs.jsonl") as f, open(corpus, "w") as out:
            for line in f:
                out.write(json.loads(line)["text"] + "\n")
            for _ in range(3):
                out.write("\n".join(CHATML_LINES) + "\n")
        cls.model_path = tok.train(str(corpus), str(tmp / "tok"), vocab_size=400)
        cls.sp = tok.load(cls.model_path)

        torch.manual_seed(0)
        cls.cfg = Config(n_vocab=cls.sp.get_piece_size(), n_ctx=256, n_embd=128, n_layer=2,
                         head_dim=32, n_head_kv=2, n_ff=352)
        cls.model = Llama(cls.cfg).eval()
        randomise(cls.model, seed=1)
        cls.gguf = {}
        for kind in ("f32", "f16"):
            cls.gguf[kind] = tmp / f"random-{kind}.gguf"
            export_gguf.export(cls.model.state_dict(), cls.cfg, cls.model_path, cls.gguf[kind],
                               kind, extra={"agentrt.test": "parity"})

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_plain_token_ids_match_runtime(self):
        for text in PLAIN_TEXTS:
            with self.subTest(text=text):
                runtime = cli_generate(self.gguf["f32"], text, "-n", "0")["prompt_tokens"]
                self.assertEqual(runtime, [tok.BOS_ID] + tok.encode(self.sp, text))

    def test_control_pieces_split_as_runtime_does(self):
        im_start, im_end = (self.sp.piece_to_id(p) for p in tok.CONTROL_SYMBOLS)
        self.assertEqual(tok.encode(self.sp, "<|im_start|>user\nhi<|im_end|>"),
                         [im_start] + self.sp.encode("user\nhi") + [im_end])
        for text in CHAT_TEXTS:
            with self.subTest(text=text):
                ids = tok.encode(self.sp, text)
                # Text between control pieces is plain text, which the runtime encodes as above.
                self.assertEqual(self.sp.decode(ids).replace("\u2047", ""),
                                 text.replace("<|im_start|>", "").replace("<|im_end|>", "")
                                 .replace("<s>", "").replace("</s>", ""))
        self.assertIn(1, tok.encode(self.sp, "a<s>b"))

    def test_user_defined_pieces_stay_whole(self):
        for piece in tok.USER_DEFINED_SYMBOLS:
            self.assertEqual(tok.encode(self.sp, "x" + piece + "y")[1:-1],
                             [self.sp.piece_to_id(piece)])

    def test_logits_match_runtime(self):
        prompt = "Zorvex Labs is a battery research company founded in 2011."
        ids = [tok.BOS_ID] + tok.encode(self.sp, prompt)
        with torch.no_grad():
            expected = self.model(torch.tensor([ids]))[0, -1].numpy()
        for kind, limit in (("f32", 1e-6), ("f16", 1e-4)):
            with self.subTest(kind=kind), tempfile.NamedTemporaryFile(suffix=".bin") as dump:
                out = cli_generate(self.gguf[kind], prompt, "-n", "0", "--dump-logits", dump.name)
                self.assertEqual(out["prompt_tokens"], ids)
                got = np.fromfile(dump.name, dtype=np.float32)
                self.assertEqual(got.shape, expected.shape)
                self.assertTrue(np.isfinite(got).all())
                err = nmse(got, expected)
                print(f"\n  logits NMSE ({kind} export vs torch f32): {err:.3e}", file=sys.stderr)
                self.assertLess(err, limit)

    def test_greedy_tokens_match_runtime(self):
        prompt = "The Ferren Bridge crosses"
        ids = [tok.BOS_ID] + tok.encode(self.sp, prompt)
        n_new = 12
        with torch.no_grad():
            seq = list(ids)
            for _ in range(n_new):
                seq.append(int(self.model(torch.tensor([seq]))[0, -1].argmax()))
        out = cli_generate(self.gguf["f32"], prompt, "-n", str(n_new), "--temp", "0",
                           "--ignore-eos")
        self.assertEqual(out["tokens"], seq[len(ids):])

    def test_gguf_metadata(self):
        import gguf
        reader = gguf.GGUFReader(str(self.gguf["f16"]))

        def value(key):
            field = reader.fields[key]
            return field.contents() if hasattr(field, "contents") else field.parts[-1][0]

        self.assertEqual(value("tokenizer.ggml.eos_token_id"), self.sp.piece_to_id("<|im_end|>"))
        self.assertEqual(value("agentrt.chat.dialect"), "chatml")
        self.assertEqual(value("agentrt.chat.tool_prompt"), "compact")
        self.assertEqual(value("agentrt.test"), "parity")
        types = {t.name: t.tensor_type.name for t in reader.tensors}
        self.assertEqual(types["blk.0.attn_q.weight"], "F16")
        self.assertEqual(types["blk.0.attn_norm.weight"], "F32")
        self.assertNotIn("output.weight", types)


if __name__ == "__main__":
    unittest.main()
