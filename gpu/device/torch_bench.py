"""PyTorch baseline for the CUDA engine's benchmark: the same architecture
(Qwen2 with our context-causal attention: a causal context in a KV cache, a
block of [anchor] + B masks attending to all of it and bidirectionally to
itself) and the same sampler (per step, commit the per-step masked positions
whose top-1 probability is highest; top-8 and entropy computed per
position) as `gpucheck bench`, on the same checkpoint files.

    python3 torch_bench.py DIR [--ctx 512,2048] [--block 32] [--per-step 4]
                               [--blocks 4] [--compile] [--dtype bf16|f32]

Prints one line per context length, in gpucheck's format.
"""
import argparse, json, math, os, struct, time

import torch
import torch.nn.functional as F


def _has_gqa():
    try:
        z = torch.zeros(2, 1, 4)
        F.scaled_dot_product_attention(z, z[:1], z[:1], enable_gqa=True)
        return True
    except (TypeError, RuntimeError):
        return False


GQA = _has_gqa()  # torch >= 2.5; older ones repeat the key/value heads


def load_safetensors(path, device, dtype):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        raw = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.uint8)
        t = raw.view({"BF16": torch.bfloat16, "F32": torch.float32, "F16": torch.float16}[e["dtype"]])
        out[name] = t.reshape(e["shape"]).to(device=device, dtype=dtype)
    return out


class Model:
    def __init__(self, d, device, dtype):
        c = json.load(open(os.path.join(d, "config.json")))
        self.c = c
        w = load_safetensors(os.path.join(d, "model.safetensors"), device, dtype)
        self.H, self.L = c["hidden_size"], c["num_hidden_layers"]
        self.nh, self.kv = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = self.H // self.nh
        self.V, self.eps = c["vocab_size"], c["rms_norm_eps"]
        self.mask = c["mask_token_id"]
        self.embed = w["model.embed_tokens.weight"]
        self.head = self.embed if c.get("tie_word_embeddings") else w["lm_head.weight"]
        self.norm = w["model.norm.weight"]
        self.layers = []
        for l in range(self.L):
            p = f"model.layers.{l}."
            g = lambda n: w[p + n]
            self.layers.append(dict(
                n1=g("input_layernorm.weight"), n2=g("post_attention_layernorm.weight"),
                # q, k, v fused into one product
                qkv=torch.cat([g("self_attn.q_proj.weight"), g("self_attn.k_proj.weight"), g("self_attn.v_proj.weight")]),
                qkvb=torch.cat([g("self_attn.q_proj.bias"), g("self_attn.k_proj.bias"), g("self_attn.v_proj.bias")]),
                o=g("self_attn.o_proj.weight"),
                gu=torch.cat([g("mlp.gate_proj.weight"), g("mlp.up_proj.weight")]),
                d=g("mlp.down_proj.weight")))
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.hd, 2, dtype=torch.float32, device=device) / self.hd))
        self.inv = inv
        self.device, self.dtype = device, dtype

    def rms(self, x, w):
        xf = x.float()
        return (w.float() * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps))).to(self.dtype)

    def rope(self, x, pos):  # x [T, h, hd]
        ang = pos.float()[:, None] * self.inv[None, :]
        cos, sin = ang.cos()[:, None, :], ang.sin()[:, None, :]
        a, b = x[..., : self.hd // 2].float(), x[..., self.hd // 2:].float()
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1).to(self.dtype)

    def forward(self, ids, p0, kc, vc, causal):
        """Rows ids at positions p0.. ; writes their keys/values into the
        cache at p0.. and attends to cache[:p0+T] (causally or not)."""
        T = ids.shape[0]
        pos = torch.arange(p0, p0 + T, device=self.device)
        x = self.embed[ids]
        qd, kvd = self.nh * self.hd, self.kv * self.hd
        mask = None
        if causal:
            mask = torch.ones(T, p0 + T, dtype=torch.bool, device=self.device).tril(p0)
        for l, W in enumerate(self.layers):
            h = self.rms(x, W["n1"])
            qkv = F.linear(h, W["qkv"], W["qkvb"])
            q = self.rope(qkv[:, :qd].view(T, self.nh, self.hd), pos)
            k = self.rope(qkv[:, qd:qd + kvd].view(T, self.kv, self.hd), pos)
            v = qkv[:, qd + kvd:].view(T, self.kv, self.hd)
            kc[l, p0:p0 + T] = k
            vc[l, p0:p0 + T] = v
            K = kc[l, : p0 + T].transpose(0, 1)  # [kv, S, hd]
            Vv = vc[l, : p0 + T].transpose(0, 1)
            if GQA:
                a = F.scaled_dot_product_attention(q.transpose(0, 1), K, Vv, attn_mask=mask, enable_gqa=True)
            else:
                r = self.nh // self.kv
                a = F.scaled_dot_product_attention(q.transpose(0, 1), K.repeat_interleave(r, 0),
                                                   Vv.repeat_interleave(r, 0), attn_mask=mask)
            x = x + F.linear(a.transpose(0, 1).reshape(T, qd), W["o"])
            h = self.rms(x, W["n2"])
            g, u = F.linear(h, W["gu"]).chunk(2, -1)
            x = x + F.linear(F.silu(g) * u, W["d"])
        return x

    def denoise(self, block, n, kc, vc):
        x = self.forward(block, n, kc, vc, causal=False)
        logits = F.linear(self.rms(x, self.norm), self.head).float()
        lp = torch.log_softmax(logits, -1)
        top = lp.topk(8, -1)
        ent = -(lp.exp() * lp).sum(-1)
        return top.values, top.indices, ent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--ctx", default="512,2048")
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--per-step", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    a = ap.parse_args()
    dev = "cuda"
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    torch.backends.cuda.matmul.allow_tf32 = False
    m = Model(a.model, dev, dtype)
    denoise = m.denoise
    mode = "eager"
    if a.compile:
        denoise = torch.compile(m.denoise, dynamic=True)
        mode = "compile"
    B = a.block
    for n in [int(s) for s in a.ctx.split(",")]:
        total = n + (a.blocks + 2) * (B + 1)
        kc = torch.zeros(m.L, total, m.kv, m.hd, device=dev, dtype=dtype)
        vc = torch.zeros_like(kc)
        g = torch.Generator().manual_seed(2)
        toks = torch.randint(0, m.V // 2, (n,), generator=g).tolist()
        with torch.inference_mode():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for p in range(0, n - 1, 256):  # chunked causal prefill, as the engine
                q = min(256, n - 1 - p)
                m.forward(torch.tensor(toks[p:p + q], device=dev), p, kc, vc, causal=True)
            torch.cuda.synchronize()
            prefill = time.perf_counter() - t0

            def decode(nblocks, toks):
                steps = []
                t0 = time.perf_counter()
                tokens = 0
                for _ in range(nblocks):
                    ctx = len(toks) - 1
                    block = torch.tensor([toks[-1]] + [m.mask] * B, device=dev)
                    masked = torch.zeros(B + 1, dtype=torch.bool, device=dev)
                    masked[1:] = True
                    left = B
                    while left > 0:
                        s0 = time.perf_counter()
                        vals, ids, ent = denoise(block, ctx, kc, vc)
                        # Shift: prediction i is for block position i+1.
                        conf = vals[:-1, 0].masked_fill(~masked[1:], -math.inf)
                        k = min(a.per_step, left)
                        pick = conf.topk(k).indices
                        block[pick + 1] = ids[pick, 0]
                        masked[pick + 1] = False
                        left -= k
                        tokens += k
                        torch.cuda.synchronize()
                        steps.append(time.perf_counter() - s0)
                    # The finished block joins the context (its keys were
                    # written at ctx.. by the last step; recompute causally).
                    bl = block.tolist()
                    m.forward(torch.tensor(bl[:B], device=dev), ctx, kc, vc, causal=True)
                    toks = toks + bl[1:]
                torch.cuda.synchronize()
                return steps, tokens, time.perf_counter() - t0, toks

            _, _, _, toks = decode(1, toks)  # warm-up (and compilation)
            steps, tokens, el, toks = decode(a.blocks, toks)
        steps.sort()
        med, p90 = steps[len(steps) // 2], steps[len(steps) * 9 // 10]
        print(f"torch-{mode} {os.path.basename(a.model.rstrip('/'))} dtype={a.dtype} ctx={n} block={B} per-step={a.per_step}: "
              f"prefill {prefill * 1e3:.1f}ms ({n / prefill:.0f} tok/s), step median {med * 1e3:.3f}ms p90 {p90 * 1e3:.3f}ms, "
              f"decode {tokens / el:.0f} tokens/s ({tokens} tokens in {el * 1e3:.1f}ms) [torch {torch.__version__}]", flush=True)


if __name__ == "__main__":
    main()
