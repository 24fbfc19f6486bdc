"""model.Llama without the runtime: packed rows (`doc`) compute what separate rows do, across
attention blocks."""

import sys
import unittest
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from model import ATTENTION_BLOCK, Config, Llama  # noqa: E402


class PackedRows(unittest.TestCase):
    def test_packed_equals_separate(self):
        torch.manual_seed(0)
        cfg = Config(n_vocab=97, n_ctx=3 * ATTENTION_BLOCK, n_embd=64, n_layer=2, head_dim=16,
                     n_head_kv=2)
        model = Llama(cfg).eval()
        lengths = [ATTENTION_BLOCK + 37, 5, ATTENTION_BLOCK - 11]  # odd splits across blocks
        seqs = [torch.randint(0, cfg.n_vocab, (n,)) for n in lengths]
        pad = cfg.n_ctx - sum(lengths)
        tokens = torch.cat(seqs + [torch.zeros(pad, dtype=torch.long)])[None]
        doc = torch.cat([torch.full((n,), i) for i, n in enumerate(lengths)] +
                        [torch.full((pad,), -1)])[None]
        with torch.no_grad():
            packed = model(tokens, doc)[0]
            pos = 0
            for seq in seqs:
                alone = model(seq[None])[0]
                self.assertLess(float((packed[pos:pos + len(seq)] - alone).abs().max()), 1e-4)
                pos += len(seq)


if __name__ == "__main__":
    unittest.main()
