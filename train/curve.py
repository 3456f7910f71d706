#!/usr/bin/env python3
"""Prints a run's loss curve as a markdown table from its log.jsonl: train
losses averaged over the log lines since the previous held-out evaluation,
then the held-out AR loss, diffusion loss, and diffusion loss with another
example's context (the gap shows how much the block reads its context).

  python3 train/curve.py train/runs/d256l4/log.jsonl
"""
import json
import sys


def main():
    rows, acc = [], {"ar": [], "diff": [], "stage": "", "tps": []}
    for l in open(sys.argv[1]):
        d = json.loads(l)
        if d.get("eval"):
            ar = sum(acc["ar"]) / max(1, len(acc["ar"]))
            df = [x for x in acc["diff"] if x > 0]
            rows.append((d["step"], d["tokens_seen"], acc["stage"], ar, sum(df) / len(df) if df else None,
                         d["heldout_ar"], d["heldout_diff"], d["heldout_diff_wrong_ctx"],
                         sum(acc["tps"]) / max(1, len(acc["tps"]))))
            acc = {"ar": [], "diff": [], "stage": "", "tps": []}
            continue
        acc["ar"].append(d["loss_ar"])
        acc["diff"].append(d["loss_diff"])
        acc["tps"].append(d["tokens_per_s"])
        if d["stage"] not in acc["stage"]:
            acc["stage"] += ("+" if acc["stage"] else "") + d["stage"]
    print("| step | tokens | stage | train AR | train diff | held-out AR | held-out diff | diff, wrong context | tokens/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        td = f"{r[4]:.3f}" if r[4] is not None else "–"
        print(f"| {r[0]} | {r[1]/1e6:.2f}M | {r[2]} | {r[3]:.3f} | {td} | {r[5]:.3f} | {r[6]:.3f} | {r[7]:.3f} | {r[8]:.0f} |")


if __name__ == "__main__":
    main()
