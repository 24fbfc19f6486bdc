"""A llama in torch (1.13) whose forward pass is the C++ engine's (engine/cpu_backend.cpp):
RMSNorm (eps 1e-5), RoPE on adjacent pairs (2i, 2i+1) with theta = pos * base^(-2i/head_dim),
grouped-query attention (query head h reads KV head h // (n_head / n_head_kv)), SwiGLU FFN,
final norm, output projection tied to the token embedding."""

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass
class Config:
    n_vocab: int = 1024
    n_ctx: int = 1024
    n_embd: int = 256
    n_layer: int = 6
    head_dim: int = 32
    n_head_kv: int = 0  # 0: as many as query heads
    n_ff: int = 0  # 0: ~2.67 * n_embd, a multiple of 32
    rms_eps: float = 1e-5
    rope_freq_base: float = 10000.0

    def __post_init__(self):
        if self.n_embd % self.head_dim or self.head_dim % 2:
            raise ValueError("n_embd must be a multiple of an even head_dim")
        if self.n_head_kv == 0:
            self.n_head_kv = self.n_head
        if self.n_head % self.n_head_kv:
            raise ValueError("n_head must be a multiple of n_head_kv")
        if self.n_ff == 0:
            self.n_ff = max(32, round(8 * self.n_embd / 3 / 32) * 32)

    @property
    def n_head(self):
        return self.n_embd // self.head_dim


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps).to(x.dtype) * weight


def rope_tables(cfg, n_pos):
    """cos, sin of shape (n_pos, head_dim / 2), computed in float64 as the engine does."""
    i = torch.arange(cfg.head_dim // 2, dtype=torch.float64)
    inv_freq = cfg.rope_freq_base ** (-2.0 * i / cfg.head_dim)
    theta = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(theta).float(), torch.sin(theta).float()


def apply_rope(x, cos, sin):
    """x (B, H, T, head_dim); rotates each adjacent pair (x[2i], x[2i+1]) by theta_i."""
    x0, x1 = x[..., 0::2], x[..., 1::2]  # (B, H, T, head_dim / 2)
    out0 = x0 * cos - x1 * sin
    out1 = x0 * sin + x1 * cos
    return torch.stack((out0, out1), dim=-1).flatten(-2)


ATTENTION_BLOCK = 128  # query rows per block in `attention`


def attention(q, k, v, mask, key_start):
    """Causal softmax attention, q, k, v (B, H, T, hd) -> (B, H, T, hd); `mask` (T, T) or
    (B, 1, T, T) is True where a query must not see a key. Queries go in blocks that skip the
    keys no row of the block can see (later positions, earlier packed sequences): on CPU this is
    most of the work at T = 1024."""
    T = q.shape[2]
    q = q * (1.0 / math.sqrt(q.shape[3]))  # scaled here: (T, hd) multiplies, not (T, T)
    out = []
    for a in range(0, T, ATTENTION_BLOCK):
        b = min(T, a + ATTENTION_BLOCK)
        s = key_start[a]  # positions before s are hidden from every query in [a, b)
        scores = q[:, :, a:b] @ k[:, :, s:b].transpose(-2, -1)  # (B, H, b-a, b-s)
        scores = scores.float().masked_fill(mask[..., a:b, s:b], float("-inf"))
        out.append(F.softmax(scores, dim=-1).to(v.dtype) @ v[:, :, s:b])
    return torch.cat(out, dim=2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        n_q, n_kv = cfg.n_head * cfg.head_dim, cfg.n_head_kv * cfg.head_dim
        self.attn_norm = nn.Parameter(torch.ones(cfg.n_embd))
        self.wq = nn.Linear(cfg.n_embd, n_q, bias=False)
        self.wk = nn.Linear(cfg.n_embd, n_kv, bias=False)
        self.wv = nn.Linear(cfg.n_embd, n_kv, bias=False)
        self.wo = nn.Linear(n_q, cfg.n_embd, bias=False)
        self.ffn_norm = nn.Parameter(torch.ones(cfg.n_embd))
        self.w_gate = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.w_up = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.w_down = nn.Linear(cfg.n_ff, cfg.n_embd, bias=False)

    def forward(self, x, cos, sin, mask, key_start):
        cfg = self.cfg
        B, T, _ = x.shape
        h = rms_norm(x, self.attn_norm, cfg.rms_eps)
        q = self.wq(h).view(B, T, cfg.n_head, cfg.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.wk(h).view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)  # (B, Hkv, T, hd)
        v = self.wv(h).view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = cfg.n_head // cfg.n_head_kv
        if group > 1:
            k = k.repeat_interleave(group, dim=1)  # (B, H, T, hd)
            v = v.repeat_interleave(group, dim=1)
        att = attention(q, k, v, mask, key_start)  # (B, H, T, hd)
        x = x + self.wo(att.transpose(1, 2).reshape(B, T, -1))
        h = rms_norm(x, self.ffn_norm, cfg.rms_eps)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.token_embd = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.output_norm = nn.Parameter(torch.ones(cfg.n_embd))
        cos, sin = rope_tables(cfg, cfg.n_ctx)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self, generator=None):
        """GPT-2-style init: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)."""
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p)
                continue
            std = 0.02
            if name.endswith("wo.weight") or name.endswith("w_down.weight"):
                std /= math.sqrt(2 * self.cfg.n_layer)
            with torch.no_grad():
                p.normal_(0.0, std, generator=generator)

    def forward(self, tokens, doc=None):
        """tokens (B, T) -> logits (B, T, n_vocab). `doc` (B, T), optional, numbers the packed
        sequences a row holds: a token attends only to earlier tokens of its own sequence, so a
        packed row computes what separate rows would (RoPE scores depend on distance alone)."""
        T = tokens.shape[1]
        if T > self.cfg.n_ctx:
            raise ValueError(f"{T} tokens exceed the context of {self.cfg.n_ctx}")
        x = self.token_embd(tokens)  # (B, T, n_embd)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]  # (T, hd / 2)
        mask = torch.ones(T, T, dtype=torch.bool, device=tokens.device).triu(1)  # (T, T)
        key_start = [0] * T  # (T) first key position any row's query t may see
        if doc is not None:
            mask = mask | (doc[:, :, None] != doc[:, None, :])  # (B, T, T)
            mask = mask[:, None]  # (B, 1, T, T)
            pos = torch.arange(T, device=tokens.device)
            new_doc = torch.ones_like(doc, dtype=torch.bool)
            new_doc[:, 1:] = doc[:, 1:] != doc[:, :-1]
            row_start = torch.where(new_doc, pos, torch.zeros_like(pos)).cummax(dim=1).values
            key_start = row_start.min(dim=0).values.tolist()
        for layer in self.layers:
            x = layer(x, cos, sin, mask, key_start)
        x = rms_norm(x, self.output_norm, self.cfg.rms_eps)
        return x @ self.token_embd.weight.t().to(x.dtype)  # tied output

    def n_params(self):
        return sum(p.numel() for p in self.parameters())
