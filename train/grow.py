"""Deepen a trained model by inserting layers that start as the identity.

Block expansion (LLaMA Pro, arXiv:2401.02415): each new layer is a copy of
the layer before it with its two output projections (attention o_proj and
MLP down_proj) set to zero, so both residual branches add nothing and the
grown model computes exactly what the old one did. Training then starts
from the old model's quality instead of from scratch, with room to learn
more:

    $PY train/grow.py --from model/defaultmodel --insert-after 1,3 --out /tmp/grown/ckpt.pt
    $PY train/train.py --run train/runs/NAME --init-from /tmp/grown/ckpt.pt --layers 6 ...

--from is a run's ckpt.pt or an exported folder (config.json +
model.safetensors). The output is a ckpt.pt that train.py --init-from,
export.py and compare.py read (no optimizer state). With --check it also
runs both models on a random batch and fails unless their logits agree.
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, Qwen2, build_mask  # noqa: E402

LAYER = re.compile(r"^model\.layers\.(\d+)\.(.*)$")
ZEROED = ("self_attn.o_proj.weight", "mlp.down_proj.weight")


def load(path):
    """The weights (fp32), Config, training args and counters of a ckpt.pt
    or an exported folder."""
    if not os.path.isdir(path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        return ({k: v.float() for k, v in ck["model"].items()}, Config(**ck["config"]), dict(ck["args"]),
                ck["step"], ck["tokens_seen"])
    from safetensors.torch import load_file
    conf = json.load(open(os.path.join(path, "config.json")))
    if conf.get("unmask_attention") != "context-causal":
        raise SystemExit(f"grow: {path} is not one of our exported models")
    cfg = Config(vocab_size=conf["vocab_size"], hidden_size=conf["hidden_size"],
                 intermediate_size=conf["intermediate_size"], num_hidden_layers=conf["num_hidden_layers"],
                 num_attention_heads=conf["num_attention_heads"], num_key_value_heads=conf["num_key_value_heads"],
                 rms_norm_eps=conf["rms_norm_eps"], rope_theta=conf["rope_theta"],
                 max_position_embeddings=conf["max_position_embeddings"])
    run = conf.get("unmask_train", {})
    args = {"block": conf["unmask_block_size"], "seq": conf["max_position_embeddings"], "seed": run.get("seed", 0)}
    weights = {k: v.float() for k, v in load_file(os.path.join(path, "model.safetensors")).items()}
    return weights, cfg, args, run.get("step", 0), run.get("tokens_seen", 0)


def grow(weights, n_layers, insert_after):
    """The state dict with a zero-output copy of layer i inserted after each
    i in insert_after (indices of the old model), and the new layer count."""
    old = {}
    other = {}
    for k, v in weights.items():
        m = LAYER.match(k)
        if m:
            old.setdefault(int(m.group(1)), {})[m.group(2)] = v
        else:
            other[k] = v
    if sorted(old) != list(range(n_layers)):
        raise SystemExit(f"grow: layers {sorted(old)} in the weights, config says {n_layers}")
    for i in insert_after:
        if not 0 <= i < n_layers:
            raise SystemExit(f"grow: --insert-after {i}: the model has layers 0..{n_layers - 1}")
    order = []
    for i in range(n_layers):
        order.append(old[i])
        for _ in range(insert_after.count(i)):
            new = {k: v.clone() for k, v in old[i].items()}
            for k in ZEROED:
                new[k] = torch.zeros_like(new[k])
            order.append(new)
    out = dict(other)
    for j, layer in enumerate(order):
        for k, v in layer.items():
            out[f"model.layers.{j}.{k}"] = v
    return out, len(order)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src", required=True, help="ckpt.pt or exported model folder")
    ap.add_argument("--insert-after", required=True,
                    help="comma-separated indices of old layers, each followed by a new identity layer (repeat an index to insert several)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", action="store_true", help="hold the grown model's logits to the old model's")
    a = ap.parse_args(argv)
    weights, cfg, args, step, seen = load(a.src)
    after = [int(s) for s in a.insert_after.split(",") if s.strip()]
    grown, n = grow(weights, cfg.num_hidden_layers, after)
    gcfg = Config(**{**cfg.to_dict(), "num_hidden_layers": n})
    if a.check:
        torch.manual_seed(0)
        T = 64
        x = torch.randint(0, cfg.vocab_size, (2, T))
        pos = torch.arange(T)[None].expand(2, T)
        mask = build_mask(T, [0, 5], T - 17)
        m0, m1 = Qwen2(cfg), Qwen2(gcfg)
        m0.load_state_dict(weights)
        m1.load_state_dict(grown)
        with torch.no_grad():
            d = (m0(x, pos, mask) - m1(x, pos, mask)).abs().max().item()
        print(f"grown vs old logits: max |diff| = {d:.2e}")
        if d > 1e-4:
            raise SystemExit("grow: the grown model does not compute what the old one did")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save({"model": grown, "step": step, "tokens_seen": seen, "wall": 0.0, "args": args,
                "config": gcfg.to_dict(), "grown": {"from": a.src, "insert_after": after}}, a.out)
    print(f"wrote {a.out}: {cfg.num_hidden_layers} -> {n} layers (new after {after})")


if __name__ == "__main__":
    main()
