"""Checkpoint + sentencepiece model -> GGUF in the llama layout engine/model.cpp loads.

    python training/export_gguf.py --checkpoint ckpt.pt --tokenizer tok.model --out model.gguf \
        [--type f16|f32] [--name NAME] [--kv key=value ...]

Tensors: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
ffn_up, ffn_down}, output_norm; no output.weight (the output is tied to token_embd). Norms stay
F32. A torch Linear weight (out, in) is what ggml calls ne = {in, out}: written as it stands.
"""

import argparse
import sys
from pathlib import Path

import gguf
import numpy as np
import sentencepiece as spm
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tokenizer as tok  # noqa: E402
from model import Config  # noqa: E402

LAYER_TENSORS = {  # model.py name -> GGUF name
    "attn_norm": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v",
    "wo": "attn_output", "ffn_norm": "ffn_norm", "w_gate": "ffn_gate", "w_up": "ffn_up",
    "w_down": "ffn_down",
}


def gguf_tensors(state, cfg):
    """(GGUF name, float32 array) for every weight, in the engine's order."""
    def get(name):
        return state[name].detach().float().cpu().numpy()

    yield "token_embd.weight", get("token_embd.weight")
    for il in range(cfg.n_layer):
        for ours, theirs in LAYER_TENSORS.items():
            suffix = "" if ours.endswith("norm") else ".weight"
            yield f"blk.{il}.{theirs}.weight", get(f"layers.{il}.{ours}{suffix}")
    yield "output_norm.weight", get("output_norm")


def load_gguf(path):
    """The inverse of `export` for F32/F16 files: (Llama state_dict, Config). Lets training
    continue from a shipped model (train.py --init MODEL.gguf)."""
    import torch

    reader = gguf.GGUFReader(str(path))

    def value(key):
        field = reader.fields[key]
        return field.parts[field.data[0]][0]

    tensors = {t.name: np.array(t.data, dtype=np.float32).reshape(
        [int(d) for d in reversed(t.shape)] if len(t.shape) > 1 else -1) for t in reader.tensors}
    n_head = int(value("llama.attention.head_count"))
    n_embd = int(value("llama.embedding_length"))
    cfg = Config(n_vocab=tensors["token_embd.weight"].shape[0],
                 n_ctx=int(value("llama.context_length")), n_embd=n_embd,
                 n_layer=int(value("llama.block_count")), head_dim=n_embd // n_head,
                 n_head_kv=int(value("llama.attention.head_count_kv")),
                 n_ff=int(value("llama.feed_forward_length")),
                 rms_eps=float("%.7g" % value("llama.attention.layer_norm_rms_epsilon")),
                 rope_freq_base=float(value("llama.rope.freq_base")))
    state = {"token_embd.weight": tensors["token_embd.weight"],
             "output_norm": tensors["output_norm.weight"]}
    for il in range(cfg.n_layer):
        for ours, theirs in LAYER_TENSORS.items():
            suffix = "" if ours.endswith("norm") else ".weight"
            state[f"layers.{il}.{ours}{suffix}"] = tensors[f"blk.{il}.{theirs}.weight"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, cfg


def export(state, cfg, tokenizer_model, out_path, tensor_type="f16", name="agentrt-default",
           extra=None):
    """Writes `out_path`. `state` is a Llama state_dict, `cfg` its Config, `extra` further
    metadata {key: str | int | float | bool}."""
    if str(tokenizer_model).endswith(".gguf"):  # the vocabulary of an earlier export
        pieces, scores, types, eos = tok.gguf_vocab(tokenizer_model)
    else:
        sp = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
        pieces, scores, types = tok.vocab(sp)
        eos = tok.eos_id(sp)
    if len(pieces) != cfg.n_vocab:
        raise ValueError(f"tokenizer has {len(pieces)} pieces, the model {cfg.n_vocab} rows")

    w = gguf.GGUFWriter(str(out_path), "llama")
    w.add_name(name)
    w.add_context_length(cfg.n_ctx)
    w.add_embedding_length(cfg.n_embd)
    w.add_block_count(cfg.n_layer)
    w.add_feed_forward_length(cfg.n_ff)
    w.add_head_count(cfg.n_head)
    w.add_head_count_kv(cfg.n_head_kv)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_eps)
    w.add_rope_freq_base(cfg.rope_freq_base)

    w.add_tokenizer_model("llama")
    w.add_token_list(pieces)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(tok.BOS_ID)
    w.add_eos_token_id(eos)  # generation stops at the end of a chatml turn
    w.add_unk_token_id(tok.UNK_ID)
    w.add_add_space_prefix(False)

    w.add_string("agentrt.chat.dialect", "chatml")
    w.add_string("agentrt.chat.tool_prompt", "compact")
    for key, value in (extra or {}).items():
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_int64(key, value)
        elif isinstance(value, float):
            w.add_float32(key, value)
        else:
            w.add_string(key, str(value))

    for tensor_name, array in gguf_tensors(state, cfg):
        keep_f32 = array.ndim == 1 or tensor_type == "f32"
        w.add_tensor(tensor_name, array.astype(np.float32 if keep_f32 else np.float16))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def parse_kv(items):
    """["key=value", ...] -> dict; values that read as int or float become numbers."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--kv {item!r}: expected key=value")
        for convert in (int, float):
            try:
                value = convert(value)
                break
            except ValueError:
                pass
        out[key] = value
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True, help="train.py checkpoint (.pt)")
    ap.add_argument("--tokenizer", required=True, help="sentencepiece .model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", choices=["f16", "f32"], default="f16")
    ap.add_argument("--name", default="agentrt-default")
    ap.add_argument("--kv", action="append", default=[], metavar="KEY=VALUE",
                    help="extra metadata (repeatable)")
    args = ap.parse_args()
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    cfg = Config(**ckpt["config"])
    export(ckpt["model"], cfg, args.tokenizer, args.out, args.type, args.name,
           parse_kv(args.kv))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB, {args.type})")


if __name__ == "__main__":
    main()
