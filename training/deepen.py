#!/usr/bin/env python3
"""Makes a deeper model from a trained checkpoint without changing what it computes.

    deepen.py --checkpoint run/ckpt.pt --layers 10 --out deep.pt

New layers go between the old ones, evenly spread. Each starts as a copy of the layer before it
with its attention output and FFN down projections set to zero, so that its residual branch adds
nothing: the deeper model's logits equal the old model's (checked here), and training then gives
the new layers their own function. The output is a checkpoint for train.py --init.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Config, Llama  # noqa: E402


def deepen(state, cfg, n_layer):
    old = cfg.n_layer
    if n_layer <= old:
        raise SystemExit(f"--layers {n_layer} must exceed the checkpoint's {old}")
    extra = n_layer - old
    # after[i]: how many new layers follow old layer i
    after = [0] * old
    for k in range(extra):
        after[min(old - 1, (k + 1) * old // (extra + 1))] += 1
    out = {k: v.clone() for k, v in state.items() if not k.startswith("layers.")}
    dst = 0
    for i in range(old):
        prefix = f"layers.{i}."
        layer = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        for name, v in layer.items():
            out[f"layers.{dst}.{name}"] = v.clone()
        dst += 1
        for _ in range(after[i]):
            for name, v in layer.items():
                copy = v.clone()
                if name in ("wo.weight", "w_down.weight"):
                    copy.zero_()
                out[f"layers.{dst}.{name}"] = copy
            dst += 1
    new_cfg = Config(**{**cfg.__dict__, "n_layer": n_layer})
    return out, new_cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    cfg = Config(**ckpt["config"])
    state, new_cfg = deepen(ckpt["model"], cfg, args.layers)

    old_model, new_model = Llama(cfg), Llama(new_cfg)
    old_model.load_state_dict(ckpt["model"])
    new_model.load_state_dict(state)
    tokens = torch.randint(0, cfg.n_vocab, (2, 64))
    with torch.no_grad():
        diff = (old_model(tokens) - new_model(tokens)).abs().max().item()
    if diff > 1e-4:
        raise SystemExit(f"the deeper model computes something else (max logit difference {diff})")
    torch.save({"config": new_cfg.__dict__, "model": state}, args.out)
    print(f"{cfg.n_layer} -> {new_cfg.n_layer} layers, {new_model.n_params() / 1e6:.2f}M params, "
          f"max logit difference {diff:.2e} -> {args.out}")


if __name__ == "__main__":
    main()
