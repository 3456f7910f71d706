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

With --gomods-cap N it appends the extra Go modules' train split
(build_corpus.py --gomods) after the PyPI files, capped the same way
per module.
"""
import argparse
import collections
import hashlib
import json
import os

from build_corpus import fnv1a32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="train/data/corpus-pypi", help="build_corpus.py --out folder built with --pypi")
    ap.add_argument("--cap", type=int, default=1_500_000, help="characters of text per package")
    ap.add_argument("--gomods-cap", type=int, default=0,
                    help="also append train-gomods.jsonl (build_corpus.py --gomods), at most this many characters "
                         "of text per module; 0: not")
    ap.add_argument("--no-pypi", action="store_true", help="leave train-pypi.jsonl out")
    ap.add_argument("--heldout", default="",
                    help="leave out appended files that share a window of 8 code lines with this held-out split "
                         "(copies of held-out code under another source; d256l4-p1's PyPI files held one, in black)")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    held = set()
    if a.heldout:
        for line in open(a.heldout):
            held.update(line_windows(json.loads(line)["text"]))
    out_path = a.out or os.path.join(a.corpus, "train-plus.jsonl")
    parts = [] if a.no_pypi else [("train-pypi.jsonl", a.cap, "PyPI")]
    if a.gomods_cap:
        parts.append(("train-gomods.jsonl", a.gomods_cap, "Go module"))
    with open(out_path, "w") as out:
        for line in open(os.path.join(a.corpus, "train.jsonl")):
            out.write(line)
        for name, cap, what in parts:
            files, total, dropped = append_capped(out, os.path.join(a.corpus, name), cap, held)
            print(f"{out_path}: + {files} {what} files, {total} characters" + (f"; {dropped} left out, sharing code with --heldout" if a.heldout else ""))


def line_windows(text, n=8, min_chars=200):
    """Hashes of each n consecutive code lines (stripped, blank and
    comment lines skipped, so licence headers do not match) of at least
    min_chars characters."""
    lines = [l.strip() for l in text.split("\n")]
    lines = [l for l in lines if l and not l.startswith(("//", "#", "*", "/*"))]
    for i in range(len(lines) - n + 1):
        w = "\n".join(lines[i:i + n])
        if len(w) >= min_chars:
            yield hashlib.blake2b(w.encode(), digest_size=8).digest()


def append_capped(out, path, cap, held=frozenset()):
    """Appends path's rows, for each source in name order its files in
    the order of FNV-1a-32 of their paths, skipping any that would take
    the source past cap characters (its first file is always kept) and
    any that share a line window with held."""
    by = collections.defaultdict(list)
    dropped = 0
    for line in open(path):
        r = json.loads(line)
        if held and any(h in held for h in line_windows(r["text"])):
            dropped += 1
            continue
        by[r["source"]].append((fnv1a32(r["path"]), line, len(r["text"])))
    files = total = 0
    for _, rows in sorted(by.items()):
        size = 0
        for _, line, n in sorted(rows):
            if size + n > cap and size > 0:
                continue
            out.write(line)
            size += n
            files += 1
        total += size
    return files, total, dropped


if __name__ == "__main__":
    main()
