#!/usr/bin/env python3
"""PyTorch eager baseline for tests/gpu/run.sh: random-weight LlamaForCausalLM (transformers) in
bf16 on the GPU, with the same shapes as agentrt-random-model's 1.1b and 7b presets. Prints, per
shape, decode tokens/s of `generate` (greedy, batch 1, --gen new tokens after a 16-token prompt)
and prefill tokens/s of one forward pass over --prompt tokens. Prints a "skipped" row when torch,
transformers or a GPU is missing (the device machine is offline: nothing is installed here)."""
import argparse
import sys
import time

SHAPES = {  # name: (hidden, layers, heads, kv heads, intermediate, vocab)
    "1.1b": (2048, 22, 32, 4, 5632, 32000),
    "7b": (4096, 32, 32, 32, 11008, 32000),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("shapes", nargs="*", default=list(SHAPES))
    args = ap.parse_args()
    try:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM
    except Exception as e:  # noqa: BLE001 - any import failure means "not available here"
        for s in args.shapes:
            print(f"| pytorch {s:<6} bf16 | skipped: {type(e).__name__}: {e} |")
        return 0
    if not torch.cuda.is_available():
        for s in args.shapes:
            print(f"| pytorch {s:<6} bf16 | skipped: torch sees no CUDA device |")
        return 0
    print(f"torch {torch.__version__}, transformers {__import__('transformers').__version__}")
    print(f"| {'model':<20} | {'decode t/s':>10} | {'prefill t/s':>11} |")
    for s in args.shapes:
        hidden, layers, heads, kv, inter, vocab = SHAPES[s]
        config = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers,
                             num_attention_heads=heads, num_key_value_heads=kv,
                             intermediate_size=inter, vocab_size=vocab,
                             max_position_embeddings=4096)
        torch.manual_seed(0)
        torch.set_default_dtype(torch.bfloat16)
        with torch.device("cuda"):
            model = LlamaForCausalLM(config).eval()
        torch.set_default_dtype(torch.float32)
        ids = torch.randint(3, vocab, (1, args.prompt), device="cuda")
        with torch.inference_mode():
            model(ids)  # warm-up
            torch.cuda.synchronize()
            t = time.perf_counter()
            model(ids)
            torch.cuda.synchronize()
            prefill = args.prompt / (time.perf_counter() - t)
            short = ids[:, :16]
            kw = dict(do_sample=False, max_new_tokens=args.gen, min_new_tokens=args.gen,
                      pad_token_id=0)
            model.generate(short, **dict(kw, max_new_tokens=8, min_new_tokens=8))  # warm-up
            torch.cuda.synchronize()
            t = time.perf_counter()
            out = model.generate(short, **kw)
            torch.cuda.synchronize()
            decode = (out.shape[1] - short.shape[1]) / (time.perf_counter() - t)
        print(f"| pytorch {s:<6} bf16       | {decode:10.1f} | {prefill:11.0f} |", flush=True)
        del model
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
