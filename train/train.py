#!/usr/bin/env python3
"""Trains our context-causal diffusion model (Qwen2 layout) on FIM examples.

Sequence (T tokens): [pad...] <fim_suffix> S <fim_prefix> P <fim_middle> done | block
The block region is [anchor = last context token] + B block tokens; it is
bidirectional inside and attends to the whole (causal) context. Logits at i-1
predict token i everywhere (the shift), so:
  AR loss        every context position predicts the next context token;
  diffusion loss the anchor and block positions predict the B block tokens,
                 each block position masked with probability t ~ U(tmin, 1),
                 cross-entropy on masked positions weighted 1/t.
Stages (fractions of --steps): an autoregressive stage first (whole sequence
causal, AR loss everywhere, no masks), then diffusion + AR on the context, and
in the last --sub-frac also substitution noise: some unmasked block tokens are
replaced by plausible wrong ones (tokens drawn from the same example) and the
loss is taken on every block position.

  python train/train.py --run train/runs/NAME --steps 4000 ...   (see train/README.md)
  python train/train.py --run train/runs/NAME --resume
  python train/train.py --run train/runs/NEW --init-from train/runs/OLD/ckpt.pt ...   continue a finished run
  python train/train.py --run train/runs/NEW --init-from model/defaultmodel ...     continue the embedded model
  python train/train.py --task copy ...   synthetic check of the mask and shift
  python train/train.py --device cuda --workers 12 --compile ...   on a GPU (train/gpu/)

Data and noise depend only on (seed, step), never on the device or the
number of data workers: the noise is drawn on the CPU and moved.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fim import EOS, MASK, PAD, Sampler, load_corpus  # noqa: E402
from model import Config, Qwen2, build_mask, count_params  # noqa: E402


def load_init(path):
    """The weights --init-from names, in fp32, with the step and tokens seen
    of the run that made them: a run's ckpt.pt, or a folder that
    train/export.py wrote (its weights as stored there, BF16 for the
    embedded model: exact in fp32, but rounded from the run's own)."""
    if not os.path.isdir(path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        return ck["model"], ck["step"], ck["tokens_seen"]
    from safetensors.torch import load_file
    conf = json.load(open(os.path.join(path, "config.json")))
    if conf.get("unmask_attention") != "context-causal" or not conf.get("unmask_logit_shift"):
        raise SystemExit(f"train: {path} is not one of our exported models (unmask_attention {conf.get('unmask_attention')!r})")
    weights = {k: v.float() for k, v in load_file(os.path.join(path, "model.safetensors")).items()}
    run = conf.get("unmask_train", {})
    return weights, run.get("step", 0), run.get("tokens_seen", 0)


def get_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default="", help="start a new run (fresh optimizer and schedule) from another run's ckpt.pt weights, or from an exported model folder (config.json + model.safetensors, e.g. model/defaultmodel); the model shape must match")
    ap.add_argument("--task", default="fim", choices=["fim", "copy"])
    ap.add_argument("--train", default="train/data/corpus/train.jsonl", help="a .jsonl file, or a shards folder from `unmask data build` (its train split; DIR:SPLIT names another)")
    ap.add_argument("--heldout", default="train/data/corpus/heldout.jsonl", help="a .jsonl file, or a shards folder (its heldout split; DIR:SPLIT names another)")
    ap.add_argument("--tokenizer", default="train/data/tokenizer.json")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--minutes", type=float, default=0, help="run length in wall minutes; the LR and stage schedule follow the clock (0 = by --steps)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=288)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=0, help="0 = the tokenizer's")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--ar-frac", type=float, default=0.1, help="fraction of steps in the AR-only stage")
    ap.add_argument("--sub-frac", type=float, default=0.2, help="last fraction of steps with substitution noise")
    ap.add_argument("--sub-prob", type=float, default=0.15, help="max prob. of substituting an unmasked block token")
    ap.add_argument("--tmin", type=float, default=0.05)
    ap.add_argument("--python-frac", type=float, default=0.2, help="share of Python examples")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1, help="1: on a shared, oversubscribed CPU two threads spin-wait (measured 5x slower)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, or auto (cuda when available)")
    ap.add_argument("--workers", type=int, default=0, help="processes that cut and tokenize examples (0 = in the training loop; a GPU needs several)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model's forward")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--ema", type=float, default=0, help="also keep an exponential moving average of the weights with this decay per step (0 = off; export.py --ema exports it)")
    ap.add_argument("--ckpt-minutes", type=float, default=4)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-n", type=int, default=64)
    ap.add_argument("--log-every", type=int, default=10)
    return ap.parse_args(argv)


class CopySampler:
    """Synthetic check: the middle is a copy of a random stretch of the suffix
    or the prefix, so the block can only be right by reading its context."""

    def __init__(self, T, B, vocab):
        self.T, self.B, self.ctx, self.vocab = T, B, T - B, vocab

    def example(self, rng):
        n = self.ctx - 3
        toks = [rng.randrange(16, self.vocab) for _ in range(n)]
        lo = 40 if n > 80 else max(self.B, n // 3)  # short T: the suffix still holds a block
        ns = rng.randrange(lo, n - lo)
        S, P = toks[:ns], toks[ns:]
        # the middle repeats the suffix's first L tokens: reachable only
        # through the block's attention to the (far-away) suffix
        L = rng.randint(4, self.B - 1)
        mid = S[:L]
        block = mid + [EOS] * (self.B - L)
        from fim import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX
        ids = [FIM_SUFFIX] + S + [FIM_PREFIX] + P + [FIM_MIDDLE] + block
        assert len(ids) == self.T
        return {"ids": ids, "pad": 0, "block": block, "kind": "copy", "lang": "copy"}


def batch_tensors(exs, T, B):
    ids = torch.tensor([e["ids"] for e in exs], dtype=torch.long)
    pads = [e["pad"] for e in exs]
    pos = torch.clamp(torch.arange(T)[None, :] - torch.tensor(pads)[:, None], min=0)
    return ids, pos, pads


def losses(model, ids, pos, pads, T, B, mode, rng_t, sub_prob=0.0, tmin=0.05, autocast=None, shuffled_ctx=None):
    """Returns (ar_loss, diff_loss, stats). mode: "ar" | "diff" | "sub"."""
    Bn = ids.shape[0]
    R = T - B - 1  # anchor index = region start
    pad_t = torch.tensor(pads)
    inp = ids.clone()
    if mode == "ar":
        mask = build_mask(T, pads, T)
    else:
        mask = build_mask(T, pads, R)
        t = torch.rand(Bn, 1, generator=rng_t) * (1 - tmin) + tmin
        m = torch.rand(Bn, B, generator=rng_t) < t
        blk = inp[:, T - B:]
        if mode == "sub":
            # substitute unmasked positions with tokens drawn from the same example's context
            ps = torch.rand(Bn, 1, generator=rng_t) * sub_prob
            s = (~m) & (torch.rand(Bn, B, generator=rng_t) < ps)
            lo = pad_t[:, None] + 1
            span = (R - lo).clamp(min=1)
            src = lo + (torch.rand(Bn, B, generator=rng_t) * span).long()
            cand = torch.gather(ids, 1, src)
            blk = torch.where(s, cand, blk)
        blk = torch.where(m, torch.full_like(blk, MASK), blk)
        inp[:, T - B:] = blk
    # The noise was drawn on the CPU (the same stream on every device).
    dev = next(model.parameters()).device
    inp, pos, mask, ids, pad_t = inp.to(dev), pos.to(dev), mask.to(dev), ids.to(dev), pad_t.to(dev)
    if mode != "ar":
        t, m = t.to(dev), m.to(dev)
    ctx = autocast() if autocast else torch.autocast(dev.type, enabled=False)
    with ctx:
        h = model.hidden(inp, pos, mask)
    h = h.float()
    # AR: positions [pad, R-1] predict ids[i+1] (the last one predicts the anchor)
    last = T - 1 if mode == "ar" else R
    ar_pos = torch.arange(T - 1, device=dev)[None, :]
    valid = (ar_pos >= pad_t[:, None]) & (ar_pos < last)
    tgt = ids[:, 1:]
    with ctx:
        lg = model.logits(h[:, :-1])
    lg = lg.float()
    ce = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none").view(Bn, T - 1)
    ar = (ce * valid).sum() / valid.sum()
    stats = {}
    if mode == "ar":
        return ar, torch.zeros(()), stats
    bce = ce[:, R:R + B]  # predictions from anchor..T-2 for block tokens T-B..T-1
    if mode == "diff":
        w = m.float() / t
    else:
        w = torch.where(m, 1.0 / t, torch.ones_like(t)).float()
    diff = (bce * w).sum() / (Bn * B)
    with torch.no_grad():
        stats["block_acc_masked"] = ((lg[:, R:R + B].argmax(-1) == tgt[:, R:R + B]) & m).sum().item() / max(1, m.sum().item())
    return ar, diff, stats


@torch.no_grad()
def evaluate(model, exs, T, B, autocast, seed):
    """Held-out AR loss, diffusion loss at fixed masks, and the diffusion loss
    with another example's context (how much the block reads its context)."""
    model.eval()
    ids, pos, pads = batch_tensors(exs, T, B)
    g = torch.Generator().manual_seed(seed)
    ar, diff, st = losses(model, ids, pos, pads, T, B, "diff", g, autocast=autocast)
    # wrong context: keep each example's block, take the next example's context
    perm = list(range(1, len(exs))) + [0]
    sw = [dict(exs[p], ids=exs[p]["ids"][:T - B] + exs[i]["ids"][T - B:]) for i, p in enumerate(perm)]
    ids2, pos2, pads2 = batch_tensors(sw, T, B)
    g = torch.Generator().manual_seed(seed)
    _, diff2, _ = losses(model, ids2, pos2, pads2, T, B, "diff", g, autocast=autocast)
    # all-masked block: first-token accuracy and full-block accuracy
    model.train()
    return {"heldout_ar": ar.item(), "heldout_diff": diff.item(), "heldout_diff_wrong_ctx": diff2.item(),
            "heldout_block_acc_masked": st["block_acc_masked"]}


def progress(step, wall, a):
    """Fraction of the run done: by steps, or by wall time when --minutes is
    set (the schedule then follows the clock, since on a shared CPU the
    tokens/s are not known in advance)."""
    if a.minutes:
        return min(1.0, wall / (a.minutes * 60))
    return min(1.0, step / a.steps)


def lr_at(step, p, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def stage_at(p, a):
    if p < a.ar_frac:
        return "ar"
    if p >= 1 - a.sub_frac:
        return "sub"
    return "diff"


def batch_at(a, samplers, tr, T, B, step):
    """The training batch of a step: it depends only on (seed, step)."""
    rng = random.Random(a.seed * 1_000_003 + step)
    if samplers is None:
        exs = [tr.example(rng) for _ in range(a.batch)]
    else:
        exs = []
        for _ in range(a.batch):
            lang = "python" if ("python" in samplers and rng.random() < a.python_frac) else "go"
            exs.append(samplers[lang].example(rng))
    return batch_tensors(exs, T, B)


class StepBatches(torch.utils.data.IterableDataset):
    """Batches for steps start, start+1, ...: worker w of n makes the steps
    congruent to w mod n, and the DataLoader takes one from each worker in
    turn, so they arrive in step order."""

    def __init__(self, a, samplers, tr, T, B, start):
        self.args = (a, samplers, tr, T, B)
        self.start = start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        w, n = (info.id, info.num_workers) if info else (0, 1)
        step = self.start + w
        while True:
            yield (step, *batch_at(*self.args, step))
            step += n


def step_batches(a, samplers, tr, T, B, start):
    """An iterator of (step, ids, pos, pads) from step start on, made in the
    loop or by a.workers processes."""
    ds = StepBatches(a, samplers, tr, T, B, start)
    if a.workers <= 0:
        return iter(ds)
    return iter(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=a.workers, prefetch_factor=4,
                                            persistent_workers=True))


def main(argv=None):
    a = get_args(argv)
    torch.set_num_threads(a.threads)
    os.makedirs(a.run, exist_ok=True)
    ckpt_path = os.path.join(a.run, "ckpt.pt")
    if a.resume:
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cli = a
        # The run's own settings (defaults for those added since it began);
        # only where it runs comes from the command line:
        a = argparse.Namespace(**{**vars(get_args(["--run", cli.run])), **ck["args"]})
        a.resume, a.run, a.threads = True, cli.run, cli.threads
        a.device, a.workers, a.compile = cli.device, cli.workers, cli.compile
        if cli.minutes:  # extend a time-scheduled run
            a.minutes = cli.minutes
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    T, B = a.seq, a.block
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       "cpu" if a.device == "auto" else a.device)

    if a.task == "copy":
        vocab = a.vocab or 512
        tr = CopySampler(T, B, vocab)
        ho_exs = [tr.example(random.Random(10_000 + i)) for i in range(a.eval_n)]
        samplers = None
    else:
        tr = None
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(a.tokenizer)
        vocab = a.vocab or tok.get_vocab_size()
        docs = load_corpus(a.train, "train", tok)
        by_lang = {l: [d for d in docs if d["lang"] == l] for l in ("go", "python")}
        samplers = {l: Sampler(ds, tok, T, B) for l, ds in by_lang.items() if ds}
        hdocs = load_corpus(a.heldout, "heldout", tok)
        hs = Sampler(hdocs, tok, T, B)
        r = random.Random(999)
        ho_exs = [hs.example(r) for _ in range(a.eval_n)]

    cfg = Config(vocab_size=vocab, hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
                 num_attention_heads=a.heads, num_key_value_heads=a.kv_heads)
    model = Qwen2(cfg).to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step, tokens_seen, wall_before = 0, 0, 0.0
    if a.resume:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, tokens_seen, wall_before = ck["step"], ck["tokens_seen"], ck["wall"]
    elif a.init_from:
        weights, step0, seen0 = load_init(a.init_from)
        model.load_state_dict(weights)  # raises on a shape mismatch
        print(f"initialized from {a.init_from} (step {step0}, {seen0/1e6:.2f}M tokens seen)",
              file=sys.stderr, flush=True)
    # The weights' moving average, in fp32 on the CPU, from the weights the
    # run starts with.
    ema = None
    if a.ema > 0:
        if a.resume and "ema" in ck:
            ema = {k: v.float() for k, v in ck["ema"].items()}
        else:
            ema = {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}
    nparam = count_params(model)
    autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if a.dtype == "bf16" else None
    if a.compile:
        # hidden and logits are what losses() calls; the weights stay the
        # module's, so state_dict and checkpoints are unchanged.
        model.hidden = torch.compile(model.hidden)
        model.logits = torch.compile(model.logits)
    batches = step_batches(a, samplers, tr, T, B, step)
    log = open(os.path.join(a.run, "log.jsonl"), "a")
    json.dump(vars(a), open(os.path.join(a.run, "args.json"), "w"), indent=1)
    print(f"params {nparam/1e6:.2f}M ({(nparam - vocab * a.hidden)/1e6:.2f}M non-embedding), vocab {vocab}, "
          f"start step {step}/{a.steps}", file=sys.stderr, flush=True)

    def save():
        tmp = ckpt_path + ".tmp"
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}  # loads anywhere
        ck = {"model": state, "opt": opt.state_dict(), "step": step, "tokens_seen": tokens_seen,
              "wall": wall_before + time.time() - t0, "args": vars(a), "config": cfg.to_dict()}
        if ema is not None:
            ck["ema"] = ema
        torch.save(ck, tmp)
        os.replace(tmp, ckpt_path)

    t0 = time.time()
    last_ckpt = time.time()
    win_tok, win_t = 0, time.time()
    model.train()
    while True:
        wall = wall_before + time.time() - t0
        p = progress(step, wall, a)
        if p >= 1.0:
            break
        # data and noise depend only on (seed, step): a resumed run sees the same stream
        g = torch.Generator().manual_seed(a.seed * 1_000_003 + step)
        got, ids, pos, pads = next(batches)
        assert got == step, (got, step)
        mode = stage_at(p, a)
        if a.task == "copy":
            mode = "diff"
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step, p, a)
        ar, diff, st = losses(model, ids, pos, pads, T, B, mode, g, a.sub_prob, a.tmin, autocast)
        loss = ar + diff if a.task != "copy" else diff
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if ema is not None:
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    ema[k].mul_(a.ema).add_(v.detach().float().cpu(), alpha=1 - a.ema)
        step += 1
        ntok = sum(T - p for p in pads)
        tokens_seen += ntok
        win_tok += ntok
        if step % a.log_every == 0 or step == a.steps:
            now = time.time()
            tps = win_tok / (now - win_t)
            win_tok, win_t = 0, now
            rec = {"step": step, "stage": mode, "loss_ar": round(ar.item(), 4), "loss_diff": round(diff.item(), 4),
                   "lr": round(opt.param_groups[0]["lr"], 6), "progress": round(p, 4), "grad_norm": round(gn.item(), 3), "tokens_seen": tokens_seen,
                   "tokens_per_s": round(tps), "wall_s": round(wall_before + now - t0, 1), **st}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            el = wall_before + now - t0
            eta = el / max(p, 1e-6) - el
            bar = "#" * int(30 * p)
            print(f"\r[{bar:<30}] {p*100:.1f}% step {step} {mode} ar {ar.item():.3f} diff {diff.item():.3f} "
                  f"acc {st.get('block_acc_masked', 0):.2f} {tps:.0f} tok/s {tokens_seen/1e6:.1f}M tok "
                  f"{el/60:.1f}m eta~{eta/60:.0f}m", file=sys.stderr, end="\n" if step % (a.log_every * 10) == 0 else "",
                  flush=True)
        if step % a.eval_every == 0:
            ev = evaluate(model, ho_exs, T, B, autocast, a.seed)
            ev.update({"step": step, "eval": True, "tokens_seen": tokens_seen})
            log.write(json.dumps(ev) + "\n")
            log.flush()
            print("\n" + json.dumps(ev), file=sys.stderr, flush=True)
        if time.time() - last_ckpt > a.ckpt_minutes * 60:
            save()
            last_ckpt = time.time()
    ev = evaluate(model, ho_exs, T, B, autocast, a.seed)
    ev.update({"step": step, "eval": True, "tokens_seen": tokens_seen, "final": True})
    log.write(json.dumps(ev) + "\n")
    print("\n" + json.dumps(ev), file=sys.stderr, flush=True)
    if ema is not None:
        avg = Qwen2(cfg).to(dev)
        avg.load_state_dict({k: v.to(dev) for k, v in ema.items()})
        ev = evaluate(avg, ho_exs, T, B, autocast, a.seed)
        ev.update({"step": step, "eval": True, "tokens_seen": tokens_seen, "final": True, "ema": a.ema})
        log.write(json.dumps(ev) + "\n")
        print(json.dumps(ev), file=sys.stderr, flush=True)
    save()
    print("\ndone", file=sys.stderr)


if __name__ == "__main__":
    main()
