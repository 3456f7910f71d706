"""Held-out losses of several checkpoints on the same examples and masks.

Each training run evaluates on 48 held-out examples with masks drawn from
its own --seed, so two runs' logs are not comparable figure for figure.
This scores every checkpoint given on one set of examples and one mask
draw (the held-out next-token loss, the diffusion loss, the diffusion
loss with another example's context, and the masked-block accuracy), so
that a continuation can be judged against the run it started from:

    $PY train/compare.py --n 256 train/runs/d256l4-c5/ckpt.pt train/runs/d256l4-c6/ckpt.pt

The shapes come from each checkpoint's config; the sequence and block
length from the first one's args.
"""
import argparse
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fim import Sampler, load_corpus
from model import Config, Qwen2
from train import evaluate


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpts", nargs="+", help="ckpt.pt files (a run folder's checkpoint)")
    ap.add_argument("--heldout", default="train/data/corpus/heldout.jsonl")
    ap.add_argument("--tokenizer", default="train/data/tokenizer.json")
    ap.add_argument("--n", type=int, default=256, help="held-out examples")
    ap.add_argument("--batch", type=int, default=32, help="examples per forward pass")
    ap.add_argument("--seed", type=int, default=1, help="examples and masks")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(a.tokenizer)
    first = torch.load(a.ckpts[0], map_location="cpu", weights_only=False)["args"]
    T, B = first["seq"], first["block"]
    random.seed(a.seed)
    hs = Sampler(load_corpus(a.heldout, "heldout", tok), tok, T, B)
    r = random.Random(a.seed)
    exs = [hs.example(r) for _ in range(a.n)]
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    print("checkpoint\tstep\ttokens\theld-out AR\theld-out diff\tdiff, wrong context\tmasked-block acc")
    for path in a.ckpts:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = Qwen2(Config(**ck["config"]))
        model.load_state_dict(ck["model"])
        sums = {}
        for i in range(0, a.n, a.batch):
            ev = evaluate(model, exs[i:i + a.batch], T, B, autocast, a.seed + i)
            for k, v in ev.items():
                sums[k] = sums.get(k, 0.0) + v * len(exs[i:i + a.batch])
        m = {k: v / a.n for k, v in sums.items()}
        print(f"{path}\t{ck['step']}\t{ck['tokens_seen'] / 1e6:.2f}M\t{m['heldout_ar']:.3f}\t{m['heldout_diff']:.3f}\t"
              f"{m['heldout_diff_wrong_ctx']:.3f}\t{m['heldout_block_acc_masked']:.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
