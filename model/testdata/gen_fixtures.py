#!/usr/bin/env python3
"""Regenerate the parity fixtures of package model.

    python3 -m venv /work/venv-model
    /work/venv-model/bin/pip install -r model/testdata/requirements.txt
    /work/venv-model/bin/python model/testdata/gen_fixtures.py

Writes, next to this script:
  tiny-qwen2/   a tiny random checkpoint in our format (HF Qwen2 names and
                config plus the unmask_* fields): GQA, q/k/v bias, untied head.
  tiny-llada/   a tiny random checkpoint in LLaDA's layout (LLaDAModelLM
                config keys, model.transformer.* tensor names).
  golden.json   reference logits.

References:
  - Qwen2: transformers' Qwen2ForCausalLM (eager attention) with a 4-D
    additive attention mask set to each of our three modes. transformers
    takes a 4-D mask as given (already inverted), so the mask is exactly the
    mode's: causal, bidirectional, or context-causal (context rows causal,
    block rows see all context and the whole block).
  - LLaDA: transformers has no LLaDA class (the checkpoints ship
    modeling_llada.py as remote code), so TinyLLaDA below re-states
    LLaDALlamaBlock from modeling_llada.py: RMSNorm (attn_norm, ff_norm,
    ln_f), q/k/v_proj, rotary with rotate_half, attn_out, SiLU(ff_proj) *
    up_proj -> ff_out, LM head transformer.ff_out; bidirectional attention.

Each case lists the full token sequence, where the context ends, and the
logits of the rows the Go test reads. The Go side runs the case through a
session (prefill of the context = KV cache, then Denoise of the block), so
KV-cached steps are compared with full recomputation here.
"""
import json
import math
import os

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20261128)
torch.set_num_threads(1)

VOCAB = 128
MASK, EOS, PAD, FIM_P, FIM_M, FIM_S = 127, 126, 125, 124, 123, 122


def qwen2_checkpoint():
    cfg = Qwen2Config(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
        attn_implementation="eager", torch_dtype="float32",
    )
    model = Qwen2ForCausalLM(cfg).eval()
    # The default init (std 0.02) makes near-uniform logits; larger weights
    # make a test that can tell positions and masks apart.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[-1]))
    out = os.path.join(HERE, "tiny-qwen2")
    os.makedirs(out, exist_ok=True)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    c = cfg.to_dict()
    keep = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
            "rms_norm_eps", "rope_theta", "tie_word_embeddings", "hidden_act"]
    conf = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "torch_dtype": "float32"}
    conf.update({k: c[k] for k in keep})
    conf.update({
        "unmask_attention": "context-causal", "unmask_logit_shift": True, "unmask_block_size": 8,
        "mask_token_id": MASK, "eos_token_id": EOS, "pad_token_id": PAD, "bos_token_id": None,
        "fim_prefix_token_id": FIM_P, "fim_middle_token_id": FIM_M, "fim_suffix_token_id": FIM_S,
    })
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    return model


def llama_checkpoint(name, rope_scaling):
    """A tiny LLaMA (no biases, tied head) with RoPE scaling, read causally."""
    cfg = LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-5, rope_theta=500000.0, rope_scaling=rope_scaling,
        tie_word_embeddings=True, attn_implementation="eager", torch_dtype="float32",
    )
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[-1]))
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    # tied: lm_head.weight is the embedding; HF writes it once
    tensors = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    conf = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "rope_scaling": rope_scaling, "tie_word_embeddings": True,
        "vocab_size": VOCAB, "bos_token_id": 1, "eos_token_id": [EOS, PAD], "attention_bias": False,
        "torch_dtype": "float32",
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    return model


def mask_for(mode, n, total):
    """Additive mask (1, 1, total, total): 0 where row i may attend to j."""
    allowed = torch.zeros(total, total, dtype=torch.bool)
    for i in range(total):
        for j in range(total):
            if mode == "bidirectional":
                allowed[i, j] = True
            elif mode == "causal":
                allowed[i, j] = j <= i
            else:  # context-causal
                allowed[i, j] = j <= i or i >= n
    m = torch.zeros(total, total)
    m.masked_fill_(~allowed, torch.finfo(torch.float32).min)
    return m[None, None]


def qwen2_logits(model, tokens, mode, n):
    ids = torch.tensor([tokens])
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask_for(mode, n, len(tokens)), use_cache=False)
    return out.logits[0]


class RMS(torch.nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(1 + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(v + self.eps))


def rotate_half(x):
    hs = x.shape[-1]
    x1, x2 = x[..., : hs // 2], x[..., hs // 2:]
    return torch.cat((-x2, x1), dim=-1)


class TinyLLaDABlock(torch.nn.Module):
    def __init__(self, d, heads, kv_heads, hidden, eps):
        super().__init__()
        hd = d // heads
        self.heads, self.kv_heads, self.hd = heads, kv_heads, hd
        self.attn_norm, self.ff_norm = RMS(d, eps), RMS(d, eps)
        self.q_proj = torch.nn.Linear(d, d, bias=False)
        self.k_proj = torch.nn.Linear(d, kv_heads * hd, bias=False)
        self.v_proj = torch.nn.Linear(d, kv_heads * hd, bias=False)
        self.attn_out = torch.nn.Linear(d, d, bias=False)
        self.ff_proj = torch.nn.Linear(d, hidden, bias=False)
        self.up_proj = torch.nn.Linear(d, hidden, bias=False)
        self.ff_out = torch.nn.Linear(hidden, d, bias=False)

    def forward(self, x, cos, sin):
        T = x.shape[0]
        h = self.attn_norm(x)
        q = self.q_proj(h).view(T, self.heads, self.hd).transpose(0, 1)
        k = self.k_proj(h).view(T, self.kv_heads, self.hd).transpose(0, 1)
        v = self.v_proj(h).view(T, self.kv_heads, self.hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.hd), dim=-1) @ v
        x = x + self.attn_out(att.transpose(0, 1).reshape(T, -1))
        h = self.ff_norm(x)
        return x + self.ff_out(torch.nn.functional.silu(self.ff_proj(h)) * self.up_proj(h))


class TinyLLaDA(torch.nn.Module):
    def __init__(self, vocab, d, heads, kv_heads, hidden, layers, theta, eps):
        super().__init__()
        self.d, self.heads, self.theta = d, heads, theta
        self.wte = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList(TinyLLaDABlock(d, heads, kv_heads, hidden, eps) for _ in range(layers))
        self.ln_f = RMS(d, eps)
        self.ff_out = torch.nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        T = ids.shape[0]
        dim = self.d // self.heads
        inv = 1.0 / (self.theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        freqs = torch.outer(torch.arange(T, dtype=torch.float), inv)
        pos = torch.cat((freqs, freqs), dim=-1)
        cos, sin = pos.cos()[None], pos.sin()[None]
        x = self.wte(ids)
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.ff_out(self.ln_f(x))


def llada_checkpoint():
    d, heads, kv, hidden, layers, theta, eps = 32, 4, 4, 48, 2, 500000.0, 1e-5
    model = TinyLLaDA(VOCAB, d, heads, kv, hidden, layers, theta, eps).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name and "ln_f" not in name:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[-1]))
    out = os.path.join(HERE, "tiny-llada")
    os.makedirs(out, exist_ok=True)
    tensors = {"model.transformer." + k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    conf = {
        "architectures": ["LLaDAModelLM"], "model_type": "llada", "activation_type": "silu",
        "alibi": False, "block_type": "llama", "d_model": d, "embedding_size": VOCAB, "vocab_size": VOCAB,
        "include_bias": False, "include_qkv_bias": False, "input_emb_norm": False, "layer_norm_type": "rms",
        "mlp_hidden_size": hidden, "mlp_ratio": 4, "n_heads": heads, "n_kv_heads": kv, "n_layers": layers,
        "max_sequence_length": 128, "rms_norm_eps": eps, "rope": True, "rope_theta": theta,
        "scale_logits": False, "weight_tying": False, "mask_token_id": MASK, "eos_token_id": EOS,
        "pad_token_id": EOS, "attention_layer_norm": False,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    return model


def main():
    g = torch.Generator().manual_seed(7)
    context = torch.randint(0, 120, (40,), generator=g).tolist()
    B = 8
    anchor = context[-1]
    cases = []
    qwen = qwen2_checkpoint()
    for mode in ["context-causal", "causal", "bidirectional"]:
        # shifted reading: context minus its last token, block = [anchor] + B masks;
        # unshifted reading: whole context, block = B masks (LLaDA-style).
        for layout in ["shifted", "unshifted"]:
            if layout == "shifted":
                ctx, block = context[:-1], [anchor] + [MASK] * B
            else:
                ctx, block = context, [MASK] * B
            # a partly decoded block, as after a few steps
            block = list(block)
            block[3] = 17
            block[5] = 99
            tokens = ctx + block
            logits = qwen2_logits(qwen, tokens, mode, len(ctx))
            cases.append({
                "checkpoint": "tiny-qwen2", "name": f"qwen2 {mode} {layout}", "attention": mode,
                "context": ctx, "block": block,
                "logits": logits[len(ctx):].tolist(),  # one row per block position
            })
    for name, scaling in [
        ("tiny-llama-rope-llama3", {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
        ("tiny-llama-rope-linear", {"type": "linear", "factor": 2.0}),
    ]:
        llama = llama_checkpoint(name, scaling)
        ctx, block = context[:-1], [anchor] + [MASK] * B
        logits = qwen2_logits(llama, ctx + block, "causal", len(ctx))
        cases.append({
            "checkpoint": name, "name": f"{name} causal shifted", "attention": "causal",
            "context": ctx, "block": block, "logits": logits[len(ctx):].tolist(),
        })
    llada = llada_checkpoint()
    ctx, block = context, [MASK] * B
    block[2] = 40
    with torch.no_grad():
        logits = llada(torch.tensor(ctx + block))
    cases.append({
        "checkpoint": "tiny-llada", "name": "llada bidirectional unshifted", "attention": "bidirectional",
        "context": ctx, "block": block, "logits": logits[len(ctx):].tolist(),
    })
    meta = {"torch": torch.__version__, "transformers": __import__("transformers").__version__}
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump({"generated_by": "gen_fixtures.py", "versions": meta, "cases": cases}, f)


if __name__ == "__main__":
    main()
