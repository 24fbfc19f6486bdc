#!/usr/bin/env python3
"""Writes the tensor-type test vectors in tests/data/quant/ (run once; the output is committed).

For each type, <type>.bin holds whole blocks of raw bytes (random quantized values, with finite
f16 scales drawn from a sane range, plus edge-case blocks) and <type>.f32 holds what
gguf.quants.dequantize makes of them, as little-endian float32. For the types that gguf can
quantize with ggml's reference algorithm (q8_0, q4_0, q5_0), <type>_quant_in.f32 is a float input
and <type>_quant.bin the bytes gguf.quants.quantize makes of it.

Types added later (q5_0) draw from their own generator (seed SEED + 1), after everything else, so
that adding them leaves the earlier files byte-identical.

    python3 scripts/gen_quant_vectors.py [--out tests/data/quant]

Needs numpy and gguf (PyPI).
"""

import argparse
import pathlib
from importlib.metadata import version

import numpy as np
from gguf import GGML_QUANT_SIZES
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

SEED = 20261128
N_RANDOM_BLOCKS = {T.Q4_0: 48, T.Q5_0: 48, T.Q8_0: 48, T.Q4_K: 12, T.Q6_K: 12}


def f16_bytes(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_scales(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """n finite f16 scales, log-uniform in magnitude over [lo, hi], random sign."""
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    sign = rng.choice([-1.0, 1.0], n)
    return (mag * sign).astype(np.float16)


def random_blocks(rng, qtype, scale_offsets, lo, hi, positive=False):
    """Random quantized bytes whose f16 scale fields (at scale_offsets) hold sane finite scales."""
    n, size = N_RANDOM_BLOCKS[qtype], GGML_QUANT_SIZES[qtype][1]
    b = rng.integers(0, 256, (n, size), dtype=np.uint8)
    for off in scale_offsets:
        scales = random_scales(rng, n, lo, hi)
        b[:, off:off + 2] = f16_bytes(np.abs(scales) if positive else scales).reshape(n, 2)
    return b


def edge_block(rng, qtype, *fields):
    """One block built from (start, value) fields: a float is an f16 scale, an int a 16-bit
    pattern, a list its bytes, and (stop, byte) or (stop, None) fills [start, stop) with that byte
    or with random bytes. Everything else is zero."""
    b = np.zeros(GGML_QUANT_SIZES[qtype][1], dtype=np.uint8)
    for start, value in fields:
        if isinstance(value, float):
            b[start:start + 2] = f16_bytes([value])
        elif isinstance(value, int):
            b[start:start + 2] = np.array([value], dtype=np.uint16).view(np.uint8)
        elif isinstance(value, list):
            b[start:start + len(value)] = value
        else:
            stop, byte = value
            b[start:stop] = rng.integers(0, 256, stop - start) if byte is None else byte
    return b


def blocks_q4_0(rng):
    return np.concatenate([
        random_blocks(rng, T.Q4_0, [0], 1e-4, 2.0),
        [edge_block(rng, T.Q4_0, (2, (18, None))),  # zero scale
         edge_block(rng, T.Q4_0, (0, -0.5), (2, (18, 0xFF))),  # negative scale, nibbles 15
         edge_block(rng, T.Q4_0, (0, 0.25)),  # all nibbles 0 (-8)
         edge_block(rng, T.Q4_0, (0, 65504.0), (2, (18, 0x0F))),  # largest f16 scale
         edge_block(rng, T.Q4_0, (0, 0x0001), (2, (18, None)))],  # subnormal scale
    ])


def blocks_q5_0(rng):
    return np.concatenate([
        random_blocks(rng, T.Q5_0, [0], 1e-4, 2.0),
        [edge_block(rng, T.Q5_0, (2, (22, None))),  # zero scale
         edge_block(rng, T.Q5_0, (0, -0.5), (2, (22, 0xFF))),  # negative scale, q = 31
         edge_block(rng, T.Q5_0, (0, 0.25)),  # all q = 0 (-16)
         edge_block(rng, T.Q5_0, (0, 0.125), (2, [0xFF, 0, 0, 0xFF])),  # high bits of 0..7, 24..31
         edge_block(rng, T.Q5_0, (0, 65504.0), (6, (22, 0x0F))),  # largest f16 scale
         edge_block(rng, T.Q5_0, (0, 0x0001), (2, (22, None)))],  # subnormal scale
    ])


def blocks_q8_0(rng):
    return np.concatenate([
        random_blocks(rng, T.Q8_0, [0], 1e-5, 0.5),
        [edge_block(rng, T.Q8_0, (2, (34, None))),  # zero scale
         edge_block(rng, T.Q8_0, (0, -0.125), (2, (18, 0x80)), (18, (34, 0x7F))),  # -128, 127
         edge_block(rng, T.Q8_0, (0, 65504.0), (2, (34, 0x80))),
         edge_block(rng, T.Q8_0, (0, 0x83FF), (2, (34, None)))],  # negative subnormal scale
    ])


def blocks_q4_k(rng):
    return np.concatenate([
        random_blocks(rng, T.Q4_K, [0, 2], 1e-4, 0.1, positive=True),
        [edge_block(rng, T.Q4_K, (4, (144, None))),  # d = dmin = 0
         # all 6-bit scales and mins and all nibbles at their maximum
         edge_block(rng, T.Q4_K, (0, 0.01), (2, 0.02), (4, (144, 0xFF))),
         edge_block(rng, T.Q4_K, (0, -0.03), (2, -0.001), (4, (144, None))),  # negative d, dmin
         # scales only in the high bits, nibbles 0
         edge_block(rng, T.Q4_K, (0, 0.05), (2, 0.05), (4, [0xC0] * 8 + [0xFF] * 4))],
    ])


def blocks_q6_k(rng):
    return np.concatenate([
        random_blocks(rng, T.Q6_K, [208], 1e-5, 0.01),
        [edge_block(rng, T.Q6_K, (0, (208, None))),  # d = 0
         # q = 31 everywhere, scales -128 and 127
         edge_block(rng, T.Q6_K, (0, (192, 0xFF)), (192, (200, 0x80)), (200, (208, 0x7F)),
                    (208, 0.002)),
         # q = -32 everywhere, negative d
         edge_block(rng, T.Q6_K, (192, (208, None)), (208, -0.0007))],
    ])


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


def conversion_inputs(rng):
    mag = np.exp2(rng.uniform(-30.0, 20.0, 768)) * rng.choice([-1.0, 1.0], 768)
    bits = rng.integers(0, 1 << 32, 256, dtype=np.uint64).astype(np.uint32)
    bits = bits[(bits & 0x7F800000) != 0x7F800000]  # no NaN or infinity from random bits
    f16_ties = 0x3F800000 | (np.arange(0, 1024, 8, dtype=np.uint32) << 13) | 0x1000  # half an ulp
    bf16_ties = np.arange(0x3F800000, 0x3F900000, 0x8000, dtype=np.uint32) | 0x8000
    special = np.array([0.0, -0.0, 1.0, 65504.0, 65519.0, 65520.0, 65536.0, -70000.0, 2.0**-24,
                        2.0**-25, 3 * 2.0**-25, 2.0**-14 - 2.0**-25, 2.0**-26, 1e-45, 3.4e38,
                        np.inf, -np.inf], dtype=np.float32)
    return np.concatenate([mag.astype(np.float32), bits.view(np.float32),
                           f16_ties.view(np.float32), bf16_ties.view(np.float32), special])


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

    # Later types, from their own generator (see the module docstring).
    rng2 = np.random.default_rng(SEED + 1)
    for qtype, make in {T.Q5_0: blocks_q5_0}.items():
        raw = make(rng2).reshape(-1)
        expected = dequantize(raw, qtype).astype("<f4", copy=False).reshape(-1)
        name = qtype.name.lower()
        (args.out / f"{name}.bin").write_bytes(raw.tobytes())
        (args.out / f"{name}.f32").write_bytes(expected.tobytes())
    for qtype in (T.Q5_0,):
        x = rng2.standard_normal(32 * 16).astype(np.float32)
        x[32:64] = 0.0
        x[64:96] = np.linspace(-1.0, 1.0, 32, dtype=np.float32)
        x[96:128] *= 1e-3
        name = qtype.name.lower()
        (args.out / f"{name}_quant_in.f32").write_bytes(x.astype("<f4").tobytes())
        (args.out / f"{name}_quant.bin").write_bytes(quantize(x, qtype).tobytes())

    # Rounding float32 to f16 (numpy's astype) and to bf16 (gguf, as ggml): random magnitudes
    # across both formats' ranges, exact ties, overflow, subnormals, zeros, infinities; no NaN
    # (NaN payloads are the implementation's choice, the tests check NaN stays NaN).
    x = conversion_inputs(rng)
    (args.out / "f32_conv_in.f32").write_bytes(x.astype("<f4").tobytes())
    with np.errstate(over="ignore"):
        (args.out / "f16_from_f32.bin").write_bytes(x.astype("<f2").tobytes())
    (args.out / "bf16_from_f32.bin").write_bytes(quantize(x, T.BF16).tobytes())

    print(f"wrote {args.out} with gguf {version('gguf')}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
