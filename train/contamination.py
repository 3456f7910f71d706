#!/usr/bin/env python3
"""Finds evaluation cases whose text a training split holds verbatim.

The split holds whole package directories out, yet code is copied between
directories (Go's standard library keeps internal copies of math/bits,
strconv and others; x/tools copies the toolchain's packages), so some
held-out cases also occur, word for word, in files that were trained on. A
case counts as seen when its middle, with the 80 characters before it and
the 40 after it, occurs in a training file's text:

    python3 train/contamination.py --train train/data/corpus/train.jsonl \\
        --cases 'eval/cases/*.jsonl' --out eval/cases/seen-in-training.txt

writes the ids of the seen cases, one a line (`unmask eval --skip FILE`
leaves them out). make_cases.py --exclude-train skips them when it draws.
"""
import argparse
import glob
import json

BEFORE, AFTER = 80, 40


def probe(case):
    """The text that must not occur in training: the middle and its edges."""
    return case["prefix"][-BEFORE:] + case["middle"] + case["suffix"][:AFTER]


def training_text(paths):
    """The training files' texts, joined by a byte no code holds."""
    parts = []
    for p in paths:
        with open(p) as f:
            parts.extend(json.loads(line)["text"] for line in f)
    return "\x00".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", nargs="+", required=True, help="training splits (JSON lines with a text field)")
    ap.add_argument("--cases", required=True, help="glob of case files")
    ap.add_argument("--out", default="", help="write the seen cases' ids here")
    a = ap.parse_args()
    text = training_text(a.train)
    seen, n = [], 0
    for path in sorted(glob.glob(a.cases)):
        hits = 0
        with open(path) as f:
            for line in f:
                c = json.loads(line)
                n += 1
                if probe(c) in text:
                    seen.append(c["id"])
                    hits += 1
        print(f"{path}: {hits} seen in training")
    print(f"{len(seen)} of {n} cases seen in training")
    if a.out:
        with open(a.out, "w") as f:
            for i in seen:
                f.write(i + "\n")


if __name__ == "__main__":
    main()
