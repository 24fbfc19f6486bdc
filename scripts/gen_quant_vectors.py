#!/usr/bin/env python3
"""Writes the tensor-type test vectors in tests/data/quant/ (run once; the output is committed).

For each type, <type>.bin holds whole blocks of raw bytes (random quantized values, with finite
f16 scales drawn from a sane range, plus edge-case blocks) and <type>.f32 holds what
gguf.quants.dequantize makes of them, as little-endian float32. For the types that gguf can
quantize with ggml's reference algorithm (q8_0, q4_0), <type>_quant_in.f32 is a float input and
<type>_quant.bin the bytes gguf.quants.quantize makes of it.

    python3 scripts/gen_quant_vectors.py [--out tests/data/quant]

Needs numpy and gguf (PyPI).
"""

import argparse
import pathlib
from importlib.metadata import version

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

SEED = 20261128
N_RANDOM_BLOCKS = {T.Q4_0: 48, T.Q8_0: 48, T.Q4_K: 12, T.Q6_K: 12}


def f16_bytes(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_scales(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """n finite f16 scales, log-uniform in magnitude over [lo, hi], random sign."""
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    sign = rng.choice([-1.0, 1.0], n)
    return (mag * sign).astype(np.float16)


def blocks_q4_0(rng):
    n = N_RANDOM_BLOCKS[T.Q4_0]
    b = rng.integers(0, 256, (n, 18), dtype=np.uint8)
    b[:, 0:2] = f16_bytes(random_scales(rng, n, 1e-4, 2.0)).reshape(n, 2)
    edges = np.zeros((5, 18), dtype=np.uint8)
    edges[0, 2:] = rng.integers(0, 256, 16)  # zero scale
    edges[1, 0:2] = f16_bytes([-0.5])  # negative scale, all nibbles 15
    edges[1, 2:] = 0xFF
    edges[2, 0:2] = f16_bytes([0.25])  # all nibbles 0 (-8)
    edges[3, 0:2] = f16_bytes([65504.0])  # largest f16 scale
    edges[3, 2:] = 0x0F
    edges[4, 0:2] = np.array([0x0001], dtype=np.uint16).view(np.uint8)  # subnormal scale
    edges[4, 2:] = rng.integers(0, 256, 16)
    return np.concatenate([b, edges])


def blocks_q8_0(rng):
    n = N_RANDOM_BLOCKS[T.Q8_0]
    b = rng.integers(0, 256, (n, 34), dtype=np.uint8)
    b[:, 0:2] = f16_bytes(random_scales(rng, n, 1e-5, 0.5)).reshape(n, 2)
    edges = np.zeros((4, 34), dtype=np.uint8)
    edges[0, 2:] = rng.integers(0, 256, 32)  # zero scale
    edges[1, 0:2] = f16_bytes([-0.125])  # negative scale, extremes -128 and 127
    edges[1, 2:18] = 0x80
    edges[1, 18:] = 0x7F
    edges[2, 0:2] = f16_bytes([65504.0])
    edges[2, 2:] = 0x80
    edges[3, 0:2] = np.array([0x83FF], dtype=np.uint16).view(np.uint8)  # negative subnormal
    edges[3, 2:] = rng.integers(0, 256, 32)
    return np.concatenate([b, edges])


def blocks_q4_k(rng):
    n = N_RANDOM_BLOCKS[T.Q4_K]
    b = rng.integers(0, 256, (n, 144), dtype=np.uint8)
    b[:, 0:2] = f16_bytes(np.abs(random_scales(rng, n, 1e-4, 0.1))).reshape(n, 2)
    b[:, 2:4] = f16_bytes(np.abs(random_scales(rng, n, 1e-4, 0.1))).reshape(n, 2)
    edges = np.zeros((4, 144), dtype=np.uint8)
    edges[0, 4:] = rng.integers(0, 256, 140)  # d = dmin = 0
    edges[1, 0:2] = f16_bytes([0.01])  # all 6-bit scales/mins and nibbles at their maximum
    edges[1, 2:4] = f16_bytes([0.02])
    edges[1, 4:] = 0xFF
    edges[2, 0:2] = f16_bytes([-0.03])  # negative d and dmin
    edges[2, 2:4] = f16_bytes([-0.001])
    edges[2, 4:] = rng.integers(0, 256, 140)
    edges[3, 0:2] = f16_bytes([0.05])  # scales only in the high bits, nibbles 0
    edges[3, 2:4] = f16_bytes([0.05])
    edges[3, 4:16] = [0xC0] * 8 + [0xFF] * 4
    return np.concatenate([b, edges])


def blocks_q6_k(rng):
    n = N_RANDOM_BLOCKS[T.Q6_K]
    b = rng.integers(0, 256, (n, 210), dtype=np.uint8)
    b[:, 208:210] = f16_bytes(random_scales(rng, n, 1e-5, 0.01)).reshape(n, 2)
    edges = np.zeros((3, 210), dtype=np.uint8)
    edges[0, :208] = rng.integers(0, 256, 208)  # d = 0
    edges[1, :192] = 0xFF  # q = 31 everywhere, scales -128 and 127
    edges[1, 192:200] = 0x80
    edges[1, 200:208] = 0x7F
    edges[1, 208:210] = f16_bytes([0.002])
    edges[2, :192] = 0x00  # q = -32 everywhere, negative d
    edges[2, 192:208] = rng.integers(0, 256, 16)
    edges[2, 208:210] = f16_bytes([-0.0007])
    return np.concatenate([b, edges])


def values_f16(rng):
    bits = rng.integers(0, 1 << 16, 1024, dtype=np.uint16)
    special = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01,
               0xFE01, 0x3C00, 0xBC00, 0x3555]
    return np.concatenate([bits, np.array(special, dtype=np.uint16)]).view(np.uint8)


def values_bf16(rng):
    bits = rng.integers(0, 1 << 16, 1024, dtype=np.uint16)
    special = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81,
               0xFFC1, 0x3F80, 0xBF80]
    return np.concatenate([bits, np.array(special, dtype=np.uint16)]).view(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    ap.add_argument("--out", type=pathlib.Path, default=root / "tests" / "data" / "quant")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    makers = {T.F16: values_f16, T.BF16: values_bf16, T.Q4_0: blocks_q4_0, T.Q8_0: blocks_q8_0,
              T.Q4_K: blocks_q4_k, T.Q6_K: blocks_q6_k}
    for qtype, make in makers.items():
        raw = make(rng).reshape(-1)
        expected = dequantize(raw, qtype).astype("<f4", copy=False).reshape(-1)
        name = qtype.name.lower()
        (args.out / f"{name}.bin").write_bytes(raw.tobytes())
        (args.out / f"{name}.f32").write_bytes(expected.tobytes())

    # Reference quantization: Gaussian rows with a few exact zeros and ties.
    for qtype in (T.Q8_0, T.Q4_0):
        x = rng.standard_normal(32 * 16).astype(np.float32)
        x[32:64] = 0.0  # an all-zero block
        x[64:96] = np.linspace(-1.0, 1.0, 32, dtype=np.float32)
        x[96:128] *= 1e-3
        q = quantize(x, qtype)
        name = qtype.name.lower()
        (args.out / f"{name}_quant_in.f32").write_bytes(x.astype("<f4").tobytes())
        (args.out / f"{name}_quant.bin").write_bytes(q.tobytes())

    print(f"wrote {args.out} with gguf {version('gguf')}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
