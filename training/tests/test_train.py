"""train.py on a tiny model: targets are the model-output chunks, a run stops at its token
budget and writes a checkpoint, --resume continues from it."""

import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
import tokenizer as tok  # noqa: E402
import train  # noqa: E402

CHUNKS = [
    ["<|im_start|>user\nAdd 2 and 3.<|im_end|>\n<|im_start|>assistant\n", False],
    ["5<|im_end|>", True],
]


class Train(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = Path(cls.tmp.name)
        with open(tmp / "corpus.txt", "w") as f:
            for line in open(ROOT / "examples/data/docs.jsonl"):
                f.write(json.loads(line)["text"] + "\n")
            f.write("".join(text for text, _ in CHUNKS) + "\n")
        cls.model = tok.train(str(tmp / "corpus.txt"), str(tmp / "tok"), vocab_size=400)
        cls.sp = tok.load(cls.model)
        with open(tmp / "data.jsonl", "w") as f:
            for i in range(40):
                f.write(json.dumps({"chunks": [[f"<|im_start|>user\nAdd {i} and 3.<|im_end|>\n"
                                                "<|im_start|>assistant\n", False],
                                               [f"{i + 3}<|im_end|>", True]]}) + "\n")
            f.write(json.dumps({"chunks": [["word " * 80, False], ["x", True]]}) + "\n")
        cls.data = tmp / "data.jsonl"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_targets_are_model_output_tokens(self):
        ids, target = train.tokenize_dialogue(self.sp, CHUNKS)
        self.assertEqual(ids[0], tok.BOS_ID)
        self.assertEqual(ids, [tok.BOS_ID] + tok.encode(self.sp, CHUNKS[0][0]) +
                         tok.encode(self.sp, CHUNKS[1][0]))
        output = [i for i, t in zip(ids, target) if t != train.PROMPT]
        self.assertEqual(output, tok.encode(self.sp, "5<|im_end|>"))
        self.assertEqual(output[-1], tok.eos_id(self.sp))

    def test_answers_after_a_tool_result_are_their_own_class(self):
        chunks = [["<|im_start|>user\nAdd 2 and 3.<|im_end|>\n<|im_start|>assistant\n", False],
                  ["<tool_call>\n{}\n</tool_call><|im_end|>", True],
                  ["\n<|im_start|>user\n<tool_response>\n5\n</tool_response><|im_end|>\n"
                   "<|im_start|>assistant\n", False],
                  ["5<|im_end|>", True]]
        ids, target = train.tokenize_dialogue(self.sp, chunks)
        lengths = [len(tok.encode(self.sp, text)) for text, _ in chunks]
        want = [train.PROMPT] * (1 + lengths[0]) + [train.OUTPUT] * lengths[1] + \
            [train.PROMPT] * lengths[2] + [train.ANSWER] * lengths[3]
        self.assertEqual(target, want)
        # Without a tool result before it, an answer is plain model output.
        self.assertNotIn(train.ANSWER, train.tokenize_dialogue(self.sp, CHUNKS)[1])

        # The answer weight scales exactly the ANSWER positions' share of the loss.
        torch.manual_seed(0)
        model = train.Llama(train.Config(n_vocab=self.sp.get_piece_size(), n_ctx=64, n_embd=32,
                                         n_layer=1, head_dim=16))
        tokens, cls, doc = train.one_per_row([(ids, target)], 64)
        n = len(ids)
        tokens, cls, doc = tokens[:, :n], cls[:, :n], doc[:, :n]
        logits = model(tokens[:, :-1].long(), doc[:, :-1].long())
        per_token = torch.nn.functional.cross_entropy(logits[0].float(), tokens[0, 1:].long(),
                                                      reduction="none")
        c = cls[0, 1:]
        for aw in (1.0, 3.0):
            w = torch.where(c == train.ANSWER, aw, torch.where(c == train.OUTPUT, 1.0, 0.2))
            got, count = train.batch_loss(model, tokens, cls, doc, False, 0.2, None, aw)
            self.assertAlmostEqual(float(got), float((per_token * w).sum() / w.sum()), places=5)
            self.assertEqual(count, lengths[1] + lengths[3])

    def test_budget_checkpoint_resume(self):
        out = Path(self.tmp.name) / "run"
        args = ["--data", str(self.data), "--tokenizer", self.model, "--out", str(out),
                "--dim", "32", "--layers", "1", "--head-dim", "16", "--ctx", "64",
                "--batch", "2", "--log-every", "1", "--eval-every", "3", "--eval-frac", "0.1"]
        train.main(args + ["--max-tokens", str(5 * 2 * 63)])
        first = torch.load(out / "ckpt.pt")
        self.assertEqual(first["step"], 5)
        log = (out / "train.log").read_text()
        self.assertRegex(log, r"1 longer than 64: drop")
        self.assertIn("eval loss", log)
        train.main(args + ["--max-tokens", str(8 * 2 * 63), "--resume"])
        second = torch.load(out / "ckpt.pt")
        self.assertEqual(second["step"], 8)
        log = (out / "train.log").read_text()
        self.assertIn("resumed at step 5", log)
        losses = [float(x) for x in re.findall(r"\| loss ([\d.]+)", log)]
        self.assertTrue(all(x == x and x > 0 for x in losses))

    def test_buckets_hold_similar_lengths_within_the_token_budget(self):
        dialogues = [([1] * n, [False] * n) for n in (5, 40, 7, 33, 6, 38, 12)]
        tokens, target, doc = train.one_per_row(dialogues, 64)
        lengths = (doc >= 0).sum(dim=1).tolist()
        self.assertEqual(lengths, sorted(lengths))  # rows sorted by length
        batches = train.buckets(doc, 80)
        covered = []
        for start, end, length in batches:
            self.assertEqual(length, max(lengths[start:end]))
            self.assertLessEqual((end - start) * length, max(80, length))
            covered += range(start, end)
        self.assertEqual(covered, list(range(len(dialogues))))  # every row once, in order

    def test_bucketed_run_trains(self):
        out = Path(self.tmp.name) / "bucketed"
        train.main(["--data", str(self.data), "--tokenizer", self.model, "--out", str(out),
                    "--dim", "32", "--layers", "1", "--head-dim", "16", "--ctx", "64",
                    "--batch", "2", "--bucket", "--no-bf16", "--log-every", "1",
                    "--max-tokens", "600"])
        log = (out / "train.log").read_text()
        losses = [float(x) for x in re.findall(r"\| loss ([\d.]+)", log)]
        self.assertTrue(losses and all(x == x and x > 0 for x in losses))


if __name__ == "__main__":
    unittest.main()
