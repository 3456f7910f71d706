#!/usr/bin/env python3
"""Tests of train/fim.py: shards from the real Go corpus builder load back to
the source files with their tree-sitter spans, span kinds sample those spans,
and the JSONL path cuts exactly the examples it always did.

  /work/venv-train/bin/python train/test_fim.py          (or python -m pytest train/test_fim.py)

Needs `go` (it runs `go run ./cmd/unmask data build` on a small temporary
tree; set UNMASK_BIN to a built unmask binary to skip the compile) and the
committed tokenizer model/defaultmodel/tokenizer.json.
"""
import atexit
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import fim  # noqa: E402

TOKENIZER = os.path.join(ROOT, "model", "defaultmodel", "tokenizer.json")

GO_GREET = '''// Package greet says héllo to the wörld — non-ASCII “text” before the spans.
package greet

import (
	"fmt"
	"strings"
)

// Greeter greets people by name.
type Greeter struct {
	Prefix string
	Count  int
}

// Greet returns a greeting; an empty name greets the wörld (世界).
func (g *Greeter) Greet(name string) string {
	if name == "" {
		name = "wörld"
	}
	g.Count++
	return fmt.Sprintf("%s, %s!", g.Prefix, strings.TrimSpace(name))
}

func sum(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x * 2
	}
	return total
}
'''

GO_STACK = '''// Copyright 2024 The Test Authors.

package stack

// A Stack is a LIFO of ints.
type Stack struct {
	items []int
}

// Push adds v on top.
func (s *Stack) Push(v int) {
	s.items = append(s.items, v)
}

// Pop removes and returns the top, or false when empty.
func (s *Stack) Pop() (int, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

var defaults = []int{1, 2, 3}
'''

GO_HELD = '''package held

import "errors"

var errEmpty = errors.New("held: empty")

// Max returns the largest element of xs.
func Max(xs []float64) (float64, error) {
	if len(xs) == 0 {
		return 0, errEmpty
	}
	m := xs[0]
	for _, x := range xs[1:] {
		if x > m {
			m = x
		}
	}
	return m, nil
}
'''

PY_UTIL = '''"""Small helpers (naïve ones)."""
import os


class Counter:
    """Counts things — ünïcode in a docstring."""

    def __init__(self, start=0):
        self.n = start

    def add(self, k=1):
        self.n += k
        return self.n


def walk(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        out.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".py"))
    return sorted(out)
'''


def fnv1a32(s):
    h = 0x811C9DC5
    for c in s.encode():
        h = ((h ^ c) * 0x01000193) & 0xFFFFFFFF
    return h


def held_dir(source):
    """The first pkgN directory the split rule holds out."""
    return next(f"pkg{i}" for i in range(1000) if fnv1a32(f"{source}/pkg{i}") % 20 == 0)


def train_dir(source, i):
    d = f"lib{i}"
    assert fnv1a32(f"{source}/{d}") % 20 != 0
    return d


# source name, path relative to its root, text
FILES = [
    ("goroot", f"{train_dir('goroot', 1)}/greet.go", GO_GREET),
    ("goroot", f"{train_dir('goroot', 2)}/stack.go", GO_STACK),
    ("goroot", f"{held_dir('goroot')}/held.go", GO_HELD),
    ("cpython", "util.py", PY_UTIL),
]

_tok = None
_built = None


def tokenizer():
    global _tok
    if _tok is None:
        from tokenizers import Tokenizer
        _tok = Tokenizer.from_file(TOKENIZER)
    return _tok


def scratch(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def build():
    """Writes FILES under a temporary goroot/src and python lib, runs the Go
    builder, and returns the shards folder (once per process)."""
    global _built
    if _built:
        return _built
    tmp = scratch("test_fim_")
    roots = {"goroot": os.path.join(tmp, "go", "src"), "cpython": os.path.join(tmp, "pylib")}
    for src, rel, text in FILES:
        p = os.path.join(roots[src], rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    out = os.path.join(tmp, "shards")
    cmd = [os.environ["UNMASK_BIN"]] if os.environ.get("UNMASK_BIN") else ["go", "run", "./cmd/unmask"]
    cmd += ["data", "build", "--goroot", os.path.join(tmp, "go"), "--python-lib", roots["cpython"],
            "--modcache", "none", "--out", out, "--tokenizer", TOKENIZER]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _built = out
    return out


def source_of(path):
    return next(text for src, rel, text in FILES if rel == path)


def test_load_shards_round_trip():
    out = build()
    tok = tokenizer()
    tr = fim.load_shards(out, "train", tok, min_chars=0)
    ho = fim.load_shards(out, "heldout", tok, min_chars=0)
    assert sorted(d["path"] for d in tr) == sorted(rel for src, rel, _ in FILES if not rel.startswith("pkg"))
    assert [d["path"] for d in ho] == [f"{held_dir('goroot')}/held.go"]
    for d in tr + ho:
        assert d["text"] == source_of(d["path"]), d["path"]
        assert d["lang"] == ("python" if d["path"].endswith(".py") else "go")
        assert d["spans"], d["path"]
    # the same documents through load_corpus: DIR takes the flag's split, DIR:SPLIT names one
    assert fim.load_corpus(out, "heldout", tok, min_chars=0) == ho
    assert fim.load_corpus(out + ":heldout", "train", tok, min_chars=0) == ho
    # min_chars as load_docs applies it (characters of text)
    short = min(len(d["text"]) for d in tr)
    assert len(fim.load_shards(out, "train", tok, min_chars=short + 1)) < len(tr)


def test_spans_are_character_offsets_of_syntax():
    out = build()
    tok = tokenizer()
    docs = {d["path"]: d for d in fim.load_shards(out, "train", tok, min_chars=0) + fim.load_shards(out, "heldout", tok, min_chars=0)}
    # every character span is the index's byte span of the source file
    nonascii = 0
    for name in os.listdir(out):
        if not name.endswith(".idx.jsonl"):
            continue
        for l in open(os.path.join(out, name)):
            e = json.loads(l)
            raw = source_of(e["path"]).encode("utf-8")
            assert e["bytes"] == len(raw)
            d = docs[e["path"]]
            assert len(d["spans"]) == len(e["spans"])
            for (a, b, k), (ab, bb, kb) in zip(d["spans"], e["spans"]):
                assert k == kb and d["text"][a:b] == raw[ab:bb].decode("utf-8")
                nonascii += (a, b) != (ab, bb)
    assert nonascii > 0, "the non-ASCII files should shift character offsets"
    g = docs[f"{train_dir('goroot', 1)}/greet.go"]
    got = {(k, g["text"][a:b]) for a, b, k in g["spans"]}
    assert ("statement", 'if name == "" {\n\t\tname = "wörld"\n\t}') in got
    assert ("statement", 'name = "wörld"') in got
    assert ("expression", 'strings.TrimSpace(name)') in got
    assert any(k == "block" and t.startswith("func (g *Greeter) Greet(") and t.endswith("}") for k, t in got)
    for d in docs.values():
        for a, b, k in d["spans"]:
            t = d["text"][a:b]
            assert t == t.strip() or k == "block", (k, t)
            if k == "block" and d["lang"] == "go":
                assert t.endswith("}") and "{" in t, t
    py = docs["util.py"]
    pyb = [py["text"][a:b] for a, b, k in py["spans"] if k == "block"]
    assert any(t.startswith("class Counter:") for t in pyb) and any(t.startswith("def walk(root):") for t in pyb)


def test_syntax_kinds_sample_annotated_spans():
    out = build()
    tok = tokenizer()
    docs = fim.load_shards(out, "train", tok, min_chars=0)
    rng = random.Random(7)
    for d in docs:
        text, spans = d["text"], d["spans"]
        whole = {(a, b) for a, b, k in spans}
        for kind in fim.SYNTAX_KINDS:
            want = fim.SPAN_KIND[kind]
            for _ in range(30):
                k, a, b = fim.sample_span(text, rng, kind, spans)
                assert k == kind
                if kind == "rest_of_expression":
                    assert any(k2 == "expression" and a0 < a and b0 == b for a0, b0, k2 in spans), (a, b)
                else:
                    assert (a, b, want) in spans and (a, b) in whole
    # an example's middle is the span text: the block holds its first tokens
    s = fim.Sampler(docs, tok)
    for i in range(60):
        rng = random.Random(i)
        kind = fim.SYNTAX_KINDS[i % 4]
        d = docs[i % len(docs)]
        replay = random.Random()
        replay.setstate(rng.getstate())
        _, a, b = fim.sample_span(d["text"], replay, kind, d["spans"])
        ex = s.example(rng, doc=d, kind=kind, cont=0)
        M = tok.encode(d["text"][a:b], add_special_tokens=False).ids + [fim.EOS]
        assert ex["kind"] == kind
        assert ex["block"] == (M + [fim.EOS] * s.B)[:s.B]
        assert len(ex["ids"]) == s.T
    # kind=None mixes the text-rule kinds with the syntax kinds by ANNOTATED_WEIGHTS
    rng = random.Random(3)
    counts = {}
    for _ in range(3000):
        d = docs[rng.randrange(len(docs))]
        k, a, b = fim.sample_span(d["text"], rng, None, d["spans"])
        assert 0 <= a <= b <= len(d["text"])
        counts[k] = counts.get(k, 0) + 1
    assert set(counts) == set(fim.ANNOTATED_KINDS), counts
    syn = sum(counts[k] for k in fim.SYNTAX_KINDS) / 3000
    assert abs(syn - sum(fim.ANNOTATED_WEIGHTS[5:])) < 0.04, (syn, counts)
    # a syntax kind with no such span (or no spans) falls back to a text-rule kind
    k, a, b = fim.sample_span(GO_GREET, random.Random(1), "statement", [])
    assert k in fim.KINDS


def test_bytes_mismatch_is_skipped_and_counted():
    out = build()
    tok = tokenizer()
    bad = scratch("test_fim_bad_")
    for name in os.listdir(out):
        shutil.copy(os.path.join(out, name), bad)
    p = os.path.join(bad, "train-000.idx.jsonl")
    lines = open(p).read().splitlines()
    e = json.loads(lines[0])
    e["bytes"] += 1
    lines[0] = json.dumps(e)
    open(p, "w").write("\n".join(lines) + "\n")
    st = {}
    docs = fim.load_shards(bad, "train", tok, min_chars=0, stats=st)
    assert st["bytes_mismatch"] == 1 and st["docs"] == len(docs) == len(lines) - 1, st


# sha256 of 200 examples (see jsonl_digest) made by train/fim.py at commit
# 51ca8f6, before span annotations existed: the JSONL path must not change.
JSONL_DIGEST = "45517a28309fb6fd3a87c118d8bfd9545a18715ac39f131eef55439c93a4b10d"


def jsonl_docs():
    return [{"source": src, "path": rel, "lang": "python" if rel.endswith(".py") else "go", "text": text}
            for src, rel, text in FILES]


def jsonl_digest(mod, docs, tok):
    s = mod.Sampler(docs, tok)
    h = hashlib.sha256()
    for step in range(25):
        rng = random.Random(1234 * 1_000_003 + step)
        for _ in range(8):
            e = s.example(rng)
            h.update(json.dumps([e["ids"], e["pad"], e["block"], e["kind"], e["lang"]]).encode())
    return h.hexdigest()


def test_jsonl_path_unchanged():
    tok = tokenizer()
    tmp = scratch("test_fim_jsonl_")
    p = os.path.join(tmp, "train.jsonl")
    with open(p, "w") as f:
        for d in jsonl_docs():
            f.write(json.dumps(d) + "\n")
    docs = fim.load_corpus(p, "train", tok, min_chars=0)
    assert docs == jsonl_docs()
    assert jsonl_digest(fim, docs, tok) == JSONL_DIGEST
    # empty annotations behave as none
    assert jsonl_digest(fim, [dict(d, spans=[]) for d in docs], tok) == JSONL_DIGEST


if __name__ == "__main__":
    n = 0
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            n += 1
            print("ok", name)
    print(f"{n} tests passed")
