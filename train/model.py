"""The Qwen2 architecture in plain PyTorch, with the context-causal block mask.

Same math and parameter names as transformers' Qwen2ForCausalLM (RMSNorm in
fp32, rotate-half RoPE, GQA, SwiGLU, q/k/v bias, tied embeddings), so export
is a rename-free state_dict dump and `transformers` loads it. The attention
mask is passed in explicitly because ours is not causal everywhere: the context
is causal, and the block region ([anchor] + B positions at the end of the
sequence) is bidirectional inside and attends to the whole context.
"""
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 8192
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 6
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rope(pos, head_dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    f = pos.float()[..., None] * inv  # (B,T,hd/2)
    emb = torch.cat([f, f], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.nh, self.nkv = c.num_attention_heads, c.num_key_value_heads
        self.hd = c.hidden_size // c.num_attention_heads
        self.q_proj = nn.Linear(c.hidden_size, self.nh * self.hd, bias=True)
        self.k_proj = nn.Linear(c.hidden_size, self.nkv * self.hd, bias=True)
        self.v_proj = nn.Linear(c.hidden_size, self.nkv * self.hd, bias=True)
        self.o_proj = nn.Linear(self.nh * self.hd, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        cos, sin = cos[:, None].to(q.dtype), sin[:, None].to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(o.transpose(1, 2).reshape(B, T, self.nh * self.hd))


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Qwen2(nn.Module):
    """Parameter names match Qwen2ForCausalLM ("model.layers.0.self_attn.q_proj.weight")."""

    def __init__(self, c: Config):
        super().__init__()
        self.config = c
        self.model = Inner(c)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def hidden(self, ids, pos, mask):
        """ids, pos: (B,T) int64; mask: (B,1,T,T) bool, True = may attend."""
        x = self.model.embed_tokens(ids)
        cos, sin = rope(pos, self.config.hidden_size // self.config.num_attention_heads, self.config.rope_theta)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.model.norm(x)

    def logits(self, h):
        return F.linear(h, self.model.embed_tokens.weight)  # tied lm_head

    def forward(self, ids, pos, mask):
        return self.logits(self.hidden(ids, pos, mask))


def build_mask(T, pads, region_start):
    """Context-causal mask: (B,1,T,T) bool.

    Positions < region_start are causal; positions >= region_start (the anchor
    and the block) attend to everything before region_start and to each other.
    Left padding (pads[b] positions) is never attended to. region_start = T
    gives a plain causal mask.
    """
    B = len(pads)
    q = torch.arange(T)[:, None]
    k = torch.arange(T)[None, :]
    base = (k <= q) | ((q >= region_start) & (k >= region_start))
    m = base[None].repeat(B, 1, 1)
    for b, p in enumerate(pads):
        if p:
            m[b, :, :p] = False
            m[b, :p, :] = False
            m[b, torch.arange(p), torch.arange(p)] = True  # padding rows attend to themselves (no NaN)
    return m[:, None]


def count_params(m):
    return sum(p.numel() for p in m.parameters())
