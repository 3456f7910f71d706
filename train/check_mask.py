#!/usr/bin/env python3
"""Checks the context-causal mask and the shift wiring on a random model:
context logits must not depend on the block or on later context tokens; every
block position's logits must depend on the first context token and on every
other block position."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, Qwen2, build_mask  # noqa: E402

torch.manual_seed(0)
c = Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1)
m = Qwen2(c).eval()
T, B = 24, 4
R = T - B - 1
ids = torch.randint(6, 64, (1, T))
pos = torch.arange(T)[None]
mask = build_mask(T, [0], R)
with torch.no_grad():
    base = m(ids, pos, mask)
    x = ids.clone(); x[0, R + 2] = 7  # change one block token
    o = m(x, pos, mask)
    assert torch.allclose(o[0, :R], base[0, :R]), "context sees the block"
    for j in range(R, T):
        assert not torch.allclose(o[0, j], base[0, j]), f"block position {j} does not see block position {R+2}"
    x = ids.clone(); x[0, 0] = 8  # change the first context token
    o = m(x, pos, mask)
    for j in range(R, T):
        assert not torch.allclose(o[0, j], base[0, j]), f"block position {j} does not see the context"
    x = ids.clone(); x[0, 10] = 9  # a later context token must not reach earlier ones
    o = m(x, pos, mask)
    assert torch.allclose(o[0, :10], base[0, :10]), "context is not causal"
    # left padding: padded rows are inert and positions restart at 0
    p = 3
    ids2 = torch.cat([torch.full((1, p), 5), ids[:, :T - p]], 1)
    pos2 = torch.clamp(torch.arange(T)[None] - p, min=0)
    o2 = m(ids2, pos2, build_mask(T, [p], R))
    ref = m(ids[:, :T - p - B - 1], torch.arange(T - p - B - 1)[None], build_mask(T - p - B - 1, [0], T - p - B - 1))
    assert torch.allclose(o2[0, p:R], ref[0], atol=1e-5), "left padding changes the context"
print("mask ok: context causal and blind to the block; block sees all context and itself; padding inert")
