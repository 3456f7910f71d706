#!/usr/bin/env python3
"""Time the PyTorch reference on the shapes `unmask bench` uses.

    /work/venv-model/bin/python model/bench/torch_bench.py --shape qwen2.5-0.5b \
        --context 512 --block 32 --threads 2 [--dtype float32|bfloat16] [--json]

Same work as `unmask bench`: random weights of the shape; prefill = one
forward of the context filling the KV cache (tokens/s, median of runs);
denoise step = one forward of a block of `block` tokens against the cached
context, the block attending to all context and bidirectionally to itself
(a 4-D mask), then log-softmax, top-8 and entropy over the vocabulary for
every block position, the cache cropped back after each step (ms, median).
Requirements: ../testdata/requirements.txt (torch from PyPI, transformers).
"""
import argparse
import json
import os
import statistics
import time

import torch
from transformers import DynamicCache, Qwen2Config, Qwen2ForCausalLM

SHAPES = {
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True, rope_theta=1e6),
}


def default_shape():
    """The embedded default model's shape, as `unmask bench --shape default`."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "defaultmodel", "config.json")
    with open(path) as f:
        c = json.load(f)
    keys = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "vocab_size", "tie_word_embeddings", "rope_theta"]
    return {k: c[k] for k in keys}


SHAPES["default"] = default_shape()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="qwen2.5-0.5b", choices=sorted(SHAPES))
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--prefill-runs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dtype = getattr(torch, a.dtype)
    cfg = Qwen2Config(max_position_embeddings=32768, rms_norm_eps=1e-6,
                      attn_implementation="sdpa", **SHAPES[a.shape])
    model = Qwen2ForCausalLM(cfg).to(dtype).eval()
    ctx = torch.tensor([[(i * 7919 + 13) % cfg.vocab_size for i in range(a.context)]])
    block = torch.full((1, a.block), cfg.vocab_size - 1)
    # block rows see the whole context and the whole block
    mask = torch.zeros(1, 1, a.block, a.context + a.block, dtype=dtype)
    pos = torch.arange(a.context, a.context + a.block)[None]

    with torch.inference_mode():
        pre = []
        c0 = time.process_time()
        for _ in range(a.prefill_runs):
            cache = DynamicCache()
            t = time.perf_counter()
            model.model(input_ids=ctx, past_key_values=cache, use_cache=True)
            pre.append(time.perf_counter() - t)
        pre_cpu = (time.process_time() - c0) / a.prefill_runs

        def step():
            out = model(input_ids=block, past_key_values=cache, attention_mask=mask,
                        position_ids=pos, use_cache=True)
            lp = torch.log_softmax(out.logits[0].float(), dim=-1)
            top = torch.topk(lp, 8, dim=-1)
            ent = -(lp.exp() * lp).sum(-1)
            cache.crop(a.context)
            return top, ent

        step()  # warm-up
        den = []
        c0 = time.process_time()
        for _ in range(a.steps):
            t = time.perf_counter()
            step()
            den.append(time.perf_counter() - t)
        den_cpu = (time.process_time() - c0) / a.steps
    r = {
        "model": a.shape, "engine": f"torch {torch.__version__} {a.dtype}", "context": a.context,
        "block": a.block, "threads": a.threads,
        "prefill_tokens_per_s": a.context / statistics.median(pre),
        "denoise_step_ms": 1000 * statistics.median(den),
        "prefill_cpu_s": pre_cpu,  # process CPU seconds per prefill, all threads
        "denoise_step_cpu_ms": 1000 * den_cpu,
    }
    if a.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"{r['engine']}, {a.threads} threads, shape {a.shape}")
        print(f"prefill  {a.context} tokens: {r['prefill_tokens_per_s']:.1f} tokens/s (median of {a.prefill_runs}), {r['prefill_cpu_s']:.2f} CPU s each")
        print(f"denoise  block of {a.block} after {a.context}: {r['denoise_step_ms']:.2f} ms/step (median of {a.steps}), {r['denoise_step_cpu_ms']:.1f} CPU ms each")


if __name__ == "__main__":
    main()
