"""model.Llama without the runtime: packed rows (`doc`) compute what separate rows do, across
attention blocks; deepen.py's deeper model computes what the model it came from does."""

import sys
import unittest
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from deepen import deepen  # noqa: E402
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


class Deepen(unittest.TestCase):
    def test_new_layers_change_nothing_until_trained(self):
        torch.manual_seed(1)
        cfg = Config(n_vocab=97, n_ctx=64, n_embd=64, n_layer=3, head_dim=16, n_head_kv=2)
        model = Llama(cfg).eval()
        for n_layer in (4, 5, 7):
            state, deep_cfg = deepen(model.state_dict(), cfg, n_layer)
            deep = Llama(deep_cfg).eval()
            deep.load_state_dict(state)
            self.assertEqual(deep_cfg.n_layer, n_layer)
            tokens = torch.randint(0, cfg.n_vocab, (2, 40))
            with torch.no_grad():
                self.assertLess(float((deep(tokens) - model(tokens)).abs().max()), 1e-5)
            # the new layers are not the old ones: their output projections start at zero
            zero = [i for i in range(n_layer)
                    if not state[f"layers.{i}.wo.weight"].any()]
            self.assertEqual(len(zero), n_layer - cfg.n_layer)


if __name__ == "__main__":
    unittest.main()
