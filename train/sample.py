#!/usr/bin/env python3
"""Decodes held-out cases with a training checkpoint in PyTorch (the same
block-by-block confidence decoding as infill/, simplified: its end rule and
end prior, no warm start or revision): a cross-check of
the Go decoder's outputs and a quick look at what a checkpoint writes.

  python train/sample.py --ckpt train/runs/NAME/ckpt.pt --cases eval/cases/go-line.jsonl --n 5
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fim import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, MASK  # noqa: E402
from model import Config, Qwen2, build_mask  # noqa: E402


@torch.no_grad()
def infill(model, tok, prefix, suffix, budget=188, B=32, max_tokens=64, threshold=0.9, end_prior=0.7):
    P = tok.encode(prefix, add_special_tokens=False).ids
    S = tok.encode(suffix, add_special_tokens=False).ids
    ns = min(len(S), budget // 5)
    np_ = min(len(P), budget - ns)
    ns = min(len(S), budget - np_)
    ctx = [FIM_SUFFIX] + S[:ns] + [FIM_PREFIX] + P[len(P) - np_:] + [FIM_MIDDLE]
    out, forwards = [], 0
    while len(out) < max_tokens:
        blk = [MASK] * B
        done = False
        while MASK in blk:
            ids = ctx + blk
            T, R = len(ids), len(ctx) - 1
            lg = model(torch.tensor([ids]), torch.arange(T)[None], build_mask(T, [0], R))[0, R:R + B].float()
            forwards += 1
            p = torch.softmax(lg, -1)
            conf, arg = p.max(-1)
            if end_prior > 0 and all(t == MASK for t in blk):
                # infill's EndPrior: on the all-mask pass, the leftmost j >= 1
                # from which every later position predicts EOS with p >= end_prior
                at = None
                for j in range(B - 1, 0, -1):
                    if p[j, EOS].item() < end_prior:
                        break
                    at = j
                if at is not None:
                    blk[at:] = [EOS] * (B - at)
            masked = [j for j in range(B) if blk[j] == MASK]
            if not masked:
                break
            # infill's end rule: EOS is proposed only at the leftmost open position
            open_ = [j for j in masked if arg[j].item() != EOS or j == masked[0]]
            pick = [j for j in open_ if conf[j] >= threshold] or [max(open_ or masked[:1], key=lambda j: conf[j].item())]
            for j in pick:
                blk[j] = arg[j].item()
            # the first committed EOS ends the middle
            if EOS in blk:
                e = blk.index(EOS)
                if all(t != MASK for t in blk[:e]):
                    blk = blk[:e]
                    done = True
                    break
        out += blk
        ctx += blk
        if done:
            break
    return tok.decode(out[:max_tokens]), forwards


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--tokenizer", default="train/data/tokenizer.json")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--end-prior", type=float, default=0.7, help="as infill's EndPrior (0 = off)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(a.tokenizer)
    ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
    model = Qwen2(Config(**ck["config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    for i, l in enumerate(open(a.cases)):
        if i >= a.n:
            break
        c = json.loads(l)
        got, fw = infill(model, tok, c["prefix"], c["suffix"], end_prior=a.end_prior)
        print(json.dumps({"id": c["id"], "want": c["middle"], "got": got, "forwards": fw}))


if __name__ == "__main__":
    main()
