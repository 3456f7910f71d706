"""Average the weights of checkpoints of one architecture into a new one.

Runs that continue one another (c6 from c5's final weights) end in the
same basin, and the mean of their weights often generalizes better than
either end point (model soups; stochastic weight averaging). The mean is
taken in fp32 over the "model" state dicts, with optional weights:

    $PY train/average.py --out train/runs/soup-c5c6/ckpt.pt \
        train/runs/d256l4-c5/ckpt.pt train/runs/d256l4-c6/ckpt.pt [--weights 0.5,0.5]

The result is a ckpt.pt that export.py and compare.py read: the first
checkpoint's config and args, step and tokens of the last, no optimizer
state (it is not meant to be resumed), and "averaged" naming its sources.
A source may also be an exported folder (model/defaultmodel: its weights as
stored, BF16 there), when at least one is a ckpt.pt to take the config
from; --ema takes each ckpt.pt's moving average (train.py --ema) instead of
its last weights.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import load_init  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpts", nargs="+", help="ckpt.pt files of one architecture")
    ap.add_argument("--out", required=True)
    ap.add_argument("--weights", default="", help="comma-separated, one per checkpoint (default: equal)")
    ap.add_argument("--ema", action="store_true", help="average the ckpt.pt files' moving averages, not their last weights")
    a = ap.parse_args(argv)
    ws = [float(w) for w in a.weights.split(",")] if a.weights else [1.0] * len(a.ckpts)
    if len(ws) != len(a.ckpts) or min(ws) < 0 or sum(ws) <= 0:
        ap.error("--weights needs one non-negative weight per checkpoint, not all zero")
    ws = [w / sum(ws) for w in ws]
    cks = []
    for p in a.ckpts:
        if os.path.isdir(p):
            weights, step, seen = load_init(p)
            cks.append({"model": weights, "step": step, "tokens_seen": seen})
            continue
        ck = torch.load(p, map_location="cpu", weights_only=False)
        if a.ema:
            if "ema" not in ck:
                raise SystemExit(f"average: {p} has no moving average")
            ck["model"] = ck["ema"]
        cks.append(ck)
    files = [ck for ck in cks if "config" in ck]
    if not files:
        raise SystemExit("average: needs at least one ckpt.pt for the config")
    first = files[0]
    for p, ck in zip(a.ckpts, cks):
        if ck is first:
            continue
        if "config" in ck and ck["config"] != first["config"]:
            raise SystemExit(f"average: {p}: config differs from {a.ckpts[0]}'s")
        if ck["model"].keys() != first["model"].keys():
            raise SystemExit(f"average: {p}: tensors differ from {a.ckpts[0]}'s")
    state = {}
    for k, v in first["model"].items():
        acc = torch.zeros(v.shape, dtype=torch.float32)
        for w, ck in zip(ws, cks):
            acc += w * ck["model"][k].float()
        state[k] = acc.to(v.dtype)
    last = cks[-1]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save({"model": state, "step": last["step"], "tokens_seen": last["tokens_seen"],
                "wall": sum(ck.get("wall", 0) for ck in cks), "args": first["args"],
                "config": first["config"],
                "averaged": [{"ckpt": p, "weight": w} for p, w in zip(a.ckpts, ws)]}, a.out)
    print(f"wrote {a.out}: mean of {len(cks)} checkpoints, weights {', '.join(f'{w:.3f}' for w in ws)}")


if __name__ == "__main__":
    main()
