#!/usr/bin/env python3
"""Compare two `unmask eval --details` files case by case: the paired
difference B − A of edit similarity, exact match and parse rate, with its
standard error, overall and per language/kind. Two runs on the same cases
differ by less than their separate standard errors suggest, because most
of the spread is between cases, not between runs; the paired error is the
one to judge a change by.

    unmask eval --cases 'eval/dev/*.jsonl' --pipeline editor --details /tmp/a.jsonl
    unmask eval --cases 'eval/dev/*.jsonl' --pipeline editor --model DIR --details /tmp/b.jsonl
    python3 scripts/compare-details.py /tmp/a.jsonl /tmp/b.jsonl

Cases are matched by id; ids in only one file are counted and left out.
Standard library only.
"""
import argparse
import json
import math
import sys


def load(path):
    with open(path) as f:
        return {r["id"]: r for r in map(json.loads, f) if r}


def group_of(case_id):
    # ids are <language>-<kind>-<n> (train/make_cases.py)
    parts = case_id.rsplit("-", 1)[0].split("-", 1)
    return parts[0], "/".join(parts)


def paired(diffs):
    n = len(diffs)
    mean = sum(diffs) / n
    if n < 2:
        return mean, float("nan")
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    return mean, math.sqrt(var / n)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="details of the reference run")
    ap.add_argument("b", help="details of the run compared with it")
    a = ap.parse_args(argv)
    A, B = load(a.a), load(a.b)
    ids = sorted(set(A) & set(B))
    if not ids:
        sys.exit("compare-details: no case id in both files")
    only = len(set(A) ^ set(B))
    if only:
        print(f"{only} case(s) in one file only, left out", file=sys.stderr)
    metrics = [
        ("editsim", lambda r: r["edit_similarity"]),
        ("exact", lambda r: float(r["exact"])),
        ("parse", lambda r: float(r["parses"])),
    ]
    if all("best_edit_similarity" in A[i] and "best_edit_similarity" in B[i] for i in ids):
        # both ran with --alternatives: also the best answer offered
        metrics += [
            ("best editsim", lambda r: r["best_edit_similarity"]),
            ("best exact", lambda r: float(r["best_exact"])),
        ]
    groups = {"all": ids}
    for i in ids:
        for g in group_of(i):
            groups.setdefault(g, []).append(i)
    print(f"{'group':22s} {'cases':>5s}" + "".join(f" {m:>25s}" for m, _ in metrics) + f" {'same text':>10s}")
    for g in ["all"] + sorted(k for k in groups if k != "all"):
        gi = groups[g]
        row = f"{g:22s} {len(gi):5d}"
        for _, get in metrics:
            ma = sum(get(A[i]) for i in gi) / len(gi)
            mean, se = paired([get(B[i]) - get(A[i]) for i in gi])
            row += f" {ma:6.3f} {mean:+7.4f} ±{se:6.4f}  "
        row += f" {sum(A[i]['got'] == B[i]['got'] for i in gi):10d}"
        print(row)
    print("(each metric: A's mean, B − A, its standard error)")


if __name__ == "__main__":
    main()
