#!/usr/bin/env python3
"""Tests of cap_pypi.py (stdlib only, so CI runs it: scripts/e2e/train-py.sh).

    python3 train/test_cap.py
"""
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cap_pypi import append_capped, line_windows  # noqa: E402


def row(source, path, text):
    return json.dumps({"source": source, "path": path, "language": "go", "text": text}) + "\n"


def code(tag, n=10):
    return "".join(f"x{tag}_{i} := compute(alpha, beta, gamma, {i})\n" for i in range(n))


def main():
    # Windows: comments and blank lines do not count, short windows are not hashed.
    a = "// Copyright\n\n" + code("a")
    b = "# another header\n" + code("a")
    assert set(line_windows(a)) == set(line_windows(b)) and len(set(line_windows(a))) == 3
    assert not list(line_windows("a\nb\nc\nd\ne\nf\ng\nh\n")), "8 one-letter lines are under min_chars"
    assert not list(line_windows("// c\n" * 20)), "comment lines are skipped"

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "extra.jsonl")
        with open(path, "w") as f:
            f.write(row("mod:b@v1", "b/x.go", "B" * 600))
            f.write(row("mod:a@v1", "a/1.go", "A" * 400))
            f.write(row("mod:a@v1", "a/2.go", "a" * 400))
            f.write(row("mod:a@v1", "a/3.go", "Z" * 400))
            f.write(row("mod:c@v1", "c/leak.go", "// ours\n" + code("held")))
        # Cap 900 per source: two of a's three files of 400; b's one file;
        # c's, which is under the cap.
        out = io.StringIO()
        files, total, dropped = append_capped(out, path, 900)
        rows = [json.loads(l) for l in out.getvalue().splitlines()]
        by = {}
        for r in rows:
            by.setdefault(r["source"], []).append(len(r["text"]))
        assert sorted(by) == ["mod:a@v1", "mod:b@v1", "mod:c@v1"], by
        assert sum(by["mod:a@v1"]) <= 900 and len(by["mod:a@v1"]) == 2, by
        assert [r["source"] for r in rows] == sorted(r["source"] for r in rows), "sources in name order"
        assert (files, dropped) == (4, 0) and total == sum(len(r["text"]) for r in rows)
        # With a held-out set that shares code with c's file, it is left out.
        held = set(line_windows(code("held")))
        out = io.StringIO()
        files, total, dropped = append_capped(out, path, 900, held)
        assert dropped == 1 and files == 3 and "leak" not in out.getvalue()
        # A single file over the cap is still its source's first.
        out = io.StringIO()
        files, _, _ = append_capped(out, path, 10)
        assert files == 3, files
    print("test_cap.py: ok")


if __name__ == "__main__":
    main()
