#!/usr/bin/env python3
"""Writes a train split with the PyPI files capped per package.

build_corpus.py --pypi writes every permissively licensed PyPI file to
train-pypi.jsonl; one package can dominate (sympy held 24 of 84 MB). This
writes OUT = train.jsonl followed by, for each package in name order, its
files in the order of FNV-1a-32 of their paths, skipping any that would
take the package past --cap bytes of text (a package's first file is
always kept). It is how d256l4-p1's train-plus.jsonl was made
(train/README.md §3).

    python3 train/cap_pypi.py --corpus train/data/corpus-pypi --cap 1500000 --out train/data/corpus-pypi/train-plus.jsonl
"""
import argparse
import collections
import json
import os

from build_corpus import fnv1a32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="train/data/corpus-pypi", help="build_corpus.py --out folder built with --pypi")
    ap.add_argument("--cap", type=int, default=1_500_000, help="characters of text per package")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    out_path = a.out or os.path.join(a.corpus, "train-plus.jsonl")
    by = collections.defaultdict(list)
    for line in open(os.path.join(a.corpus, "train-pypi.jsonl")):
        r = json.loads(line)
        by[r["source"]].append((fnv1a32(r["path"]), line, len(r["text"])))
    files = total = 0
    with open(out_path, "w") as out:
        for line in open(os.path.join(a.corpus, "train.jsonl")):
            out.write(line)
        for _, rows in sorted(by.items()):
            size = 0
            for _, line, n in sorted(rows):
                if size + n > a.cap and size > 0:
                    continue
                out.write(line)
                size += n
                files += 1
            total += size
    print(f"{out_path}: train.jsonl + {files} PyPI files, {total} characters")


if __name__ == "__main__":
    main()
