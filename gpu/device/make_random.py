"""Writes a random checkpoint in our format (Hugging Face Qwen2 folder plus
unmask_* fields), bf16 safetensors, for the device benchmark and parity run.

    python3 make_random.py OUT_DIR [--shape qwen2.5-0.5b|tiny] [--seed 1]

Both engines (the CPU engine of package model, the CUDA engine of package
gpu) and torch_bench.py load the same files. No safetensors package needed:
the format is an 8-byte header length, a JSON header, and raw tensors.
"""
import argparse, json, os, struct

import torch

SHAPES = {
    # Qwen2.5-0.5B (config.json of Qwen/Qwen2.5-0.5B), vocabulary as shipped.
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         rope_theta=1000000.0, max_position_embeddings=32768, tie_word_embeddings=True),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=512, rope_theta=10000.0,
                 max_position_embeddings=4096, tie_word_embeddings=False),
}


def save_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, t in tensors.items():
        b = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype != torch.bfloat16 \
            else t.contiguous().view(torch.int16).numpy().tobytes()
        dt = {torch.bfloat16: "BF16", torch.float32: "F32"}[t.dtype]
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shape", default="qwen2.5-0.5b", choices=sorted(SHAPES))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    s = SHAPES[a.shape]
    torch.manual_seed(a.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    H, I, L = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"]
    nh, kv, V = s["num_attention_heads"], s["num_key_value_heads"], s["vocab_size"]
    hd = H // nh

    def lin(o, i):
        return (torch.randn(o, i, device=dev) / i ** 0.5).to(torch.bfloat16).cpu()

    def vec(n, base=0.0, scale=0.1):
        return (base + scale * torch.randn(n, device=dev)).to(torch.bfloat16).cpu()

    t = {"model.embed_tokens.weight": (0.5 * torch.randn(V, H, device=dev)).to(torch.bfloat16).cpu(),
         "model.norm.weight": vec(H, 1.0)}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = vec(H, 1.0)
        t[p + "post_attention_layernorm.weight"] = vec(H, 1.0)
        t[p + "self_attn.q_proj.weight"] = lin(nh * hd, H)
        t[p + "self_attn.q_proj.bias"] = vec(nh * hd)
        t[p + "self_attn.k_proj.weight"] = lin(kv * hd, H)
        t[p + "self_attn.k_proj.bias"] = vec(kv * hd)
        t[p + "self_attn.v_proj.weight"] = lin(kv * hd, H)
        t[p + "self_attn.v_proj.bias"] = vec(kv * hd)
        t[p + "self_attn.o_proj.weight"] = lin(H, nh * hd)
        t[p + "mlp.gate_proj.weight"] = lin(I, H)
        t[p + "mlp.up_proj.weight"] = lin(I, H)
        t[p + "mlp.down_proj.weight"] = lin(H, I)
    if not s["tie_word_embeddings"]:
        t["lm_head.weight"] = lin(V, H)
    os.makedirs(a.out, exist_ok=True)
    save_safetensors(os.path.join(a.out, "model.safetensors"), t)
    cfg = dict(s, model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_act="silu",
               rms_norm_eps=1e-6, torch_dtype="bfloat16", _name_or_path="random-" + a.shape,
               unmask_attention="context-causal", unmask_logit_shift=True, unmask_block_size=32,
               mask_token_id=V - 1, eos_token_id=V - 2, pad_token_id=V - 3, bos_token_id=None,
               fim_prefix_token_id=V - 4, fim_middle_token_id=V - 5, fim_suffix_token_id=V - 6)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    print(f"wrote {a.out}: {a.shape}, {sum(x.numel() for x in t.values()) / 1e6:.0f}M parameters")


if __name__ == "__main__":
    main()
