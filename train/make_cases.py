#!/usr/bin/env python3
"""Writes held-out evaluation cases from the held-out split (never trained on).

  python train/make_cases.py --heldout train/data/corpus/heldout.jsonl --out eval/cases --n 50

One file per language and span kind: eval/cases/<lang>-<kind>.jsonl, each line
{"id","language","kind","source","prefix","suffix","middle"}. Spans are cut as in
training (train/fim.py: whole line, rest of line, multi-line block, random
span); the prefix window starts at a line start at most --prefix-chars back,
the suffix window ends at a line end at most --suffix-chars on. Deterministic
(--seed).
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contamination import probe, training_text  # noqa: E402
from fim import load_docs, sample_span  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", default="train/data/corpus/heldout.jsonl")
    ap.add_argument("--out", default="eval/cases")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--prefix-chars", type=int, default=1200)
    ap.add_argument("--suffix-chars", type=int, default=400)
    ap.add_argument("--max-middle", type=int, default=300)
    ap.add_argument("--exclude", default="",
                    help="folder of case files (eval/cases): skip a case equal to one of them")
    ap.add_argument("--exclude-train", nargs="*", default=[],
                    help="training splits: skip a case whose text one holds verbatim (contamination.py)")
    a = ap.parse_args()
    train_text = training_text(a.exclude_train) if a.exclude_train else None
    os.makedirs(a.out, exist_ok=True)
    exclude = set()
    if a.exclude:
        for name in sorted(os.listdir(a.exclude)):
            if name.endswith(".jsonl"):
                with open(os.path.join(a.exclude, name)) as f:
                    for line in f:
                        c = json.loads(line)
                        exclude.add((c["source"], c["prefix"], c["middle"]))
    docs = load_docs(a.heldout, min_chars=400)
    for lang in ("go", "python"):
        ds = [d for d in docs if d["lang"] == lang]
        for kind in ("line", "rest_of_line", "block", "random"):
            rng = random.Random(f"{a.seed}-{lang}-{kind}")
            out, seen = [], set()
            tries = 0
            while len(out) < a.n and tries < 100 * a.n:
                tries += 1
                d = rng.choice(ds)
                t = d["text"]
                k, s, e = sample_span(t, rng, kind)
                mid = t[s:e]
                if k != kind or not mid.strip() or len(mid) > a.max_middle or (d["path"], s) in seen:
                    continue
                seen.add((d["path"], s))
                ps = t.rfind("\n", 0, max(0, s - a.prefix_chars)) + 1 if s > a.prefix_chars else 0
                se = t.find("\n", e + a.suffix_chars)
                se = len(t) if se < 0 or e + a.suffix_chars >= len(t) else se + 1
                source = d["source"] + ":" + d["path"]
                if (source, t[ps:s], mid) in exclude:
                    continue
                c = {"prefix": t[ps:s], "suffix": t[e:se], "middle": mid}
                if train_text is not None and probe(c) in train_text:
                    continue
                out.append({"id": f"{lang}-{kind}-{len(out):03d}", "language": lang, "kind": kind,
                            "source": source,
                            "prefix": t[ps:s], "suffix": t[e:se], "middle": mid})
            with open(os.path.join(a.out, f"{lang}-{kind}.jsonl"), "w") as f:
                for c in out:
                    f.write(json.dumps(c) + "\n")
            print(lang, kind, len(out))


if __name__ == "__main__":
    main()
