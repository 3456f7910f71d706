#!/usr/bin/env python3
"""Print the README's Evaluation table: the model and the baselines on the
held-out cases, per language and kind, each cell exact match / edit
similarity / parse rate, one `unmask eval --json` run per column.

    go build -o /tmp/unmask ./cmd/unmask
    python3 scripts/eval-table.py --unmask /tmp/unmask [--cases 'eval/cases/*.jsonl'] \
        [--model DIR] [--open-files train/data/corpus/heldout.jsonl] [--skip FILE] [--out runs.json]

--open-files adds the column with each case's package files open (needs the
corpus from train/build_corpus.py); --skip leaves out the cases a file lists
(eval/cases/seen-in-training.txt); --out keeps every run's JSON summary.
Standard library only.
"""
import argparse
import json
import subprocess
import sys


def columns(a):
    model = ["--model", a.model] if a.model else []
    cols = [
        ("model, editor pipeline", model + ["--pipeline", "editor"]),
        ("model, raw decoder", model),
        ("model without lookup, editor pipeline", model + ["--pipeline", "editor", "--lookup=false"]),
    ]
    if a.open_files:
        cols.insert(1, ("model, editor pipeline, package files open", model + ["--pipeline", "editor", "--open-files", a.open_files]))
    cols += [
        ("lookup draft alone", ["--baseline", "lookup"]),
        ("copy the previous line", ["--baseline", "copyline"]),
        ("empty middle", ["--baseline", "empty"]),
    ]
    return cols


def run(a, args):
    cmd = [a.unmask, "eval", "--cases", a.cases, "--json"] + (["--skip", a.skip] if a.skip else []) + args
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unmask", default="unmask")
    ap.add_argument("--cases", default="eval/cases/*.jsonl")
    ap.add_argument("--model", default="")
    ap.add_argument("--open-files", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    runs = [(name, run(a, args)) for name, args in columns(a)]
    if a.out:
        with open(a.out, "w") as f:
            json.dump({name: r for name, r in runs}, f, indent=1)

    def cell(g):
        return f"{g['exact_match']:.3f} / {g['edit_similarity']:.3f} / {g['parse_rate']:.3f}"

    first = runs[0][1]
    kinds = ["line", "rest_of_line", "block", "random"]
    rank = lambda grp: (grp.split("/")[0], kinds.index(grp.split("/")[1]) if grp.split("/")[1] in kinds else len(kinds), grp)
    groups = sorted((g["group"] for g in first["groups"] if "/" in g["group"]), key=rank)
    groups += [g["group"] for g in first["groups"] if "/" not in g["group"]] + ["all"]
    print("| cases | n | " + " | ".join(name for name, _ in runs) + " |")
    print("|---|---|" + "---|" * len(runs))
    for grp in groups:
        row = []
        n = 0
        for _, r in runs:
            g = r if grp == "all" else next(x for x in r["groups"] if x["group"] == grp)
            n = g["cases"]
            row.append(cell(g))
        label = "**all**" if grp == "all" else grp
        print(f"| {label} | {n} | " + " | ".join(row) + " |")
    print()
    for name, r in runs:
        if r["tokens_per_forward"] > 0:
            print(f"{name}: {r['tokens_per_forward']:.2f} tokens per forward, p50/p95 {r['p50_ms']:.0f}/{r['p95_ms']:.0f} ms")


if __name__ == "__main__":
    main()
