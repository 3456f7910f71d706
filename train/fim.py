"""Fill-in-the-middle example sampling in the suffix-prefix-middle layout.

Spans are cut at character level, then prefix, middle and suffix are
tokenized separately (plain text, special tokens not matched) exactly as the
infill decoder tokenizes a request, so training sees the token boundaries that
inference sees. Span kinds follow real completion requests: a whole line, the
rest of a line, a multi-line block (lines up to where the indentation returns),
a random character span, and an empty middle.

Documents from the Go corpus builder's shards (load_shards) also carry
tree-sitter span annotations; for those, some middles are whole syntax nodes
(a statement, a block, an expression) or the rest of an expression from a
random point inside it. Documents without spans (the JSONL corpus) are cut
exactly as before: same seed, same examples.
"""
import json
import os
import random
import sys

EOS, MASK, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, PAD = 0, 1, 2, 3, 4, 5
KINDS = ("line", "rest_of_line", "block", "random", "empty")
KIND_WEIGHTS = (0.30, 0.22, 0.25, 0.20, 0.03)
# Documents with span annotations: the text-rule kinds above at lower weight,
# plus middles taken from the annotated syntax nodes. "syntax_block" is the
# builder's "block" kind (Go/Python blocks, function/method/class
# declarations, func and composite literals), named apart from the
# indentation-rule "block".
SYNTAX_KINDS = ("statement", "syntax_block", "expression", "rest_of_expression")
ANNOTATED_KINDS = KINDS + SYNTAX_KINDS
ANNOTATED_WEIGHTS = (0.15, 0.12, 0.10, 0.15, 0.03, 0.17, 0.12, 0.10, 0.06)
SPAN_KIND = {"statement": "statement", "syntax_block": "block", "expression": "expression",
             "rest_of_expression": "expression"}
MAX_SPAN_CHARS = 1200  # longer nodes (whole big functions) are not drawn as middles


def load_docs(path, min_chars=200):
    docs = []
    for l in open(path):
        d = json.loads(l)
        if len(d["text"]) >= min_chars:
            docs.append(d)
    return docs


def _shard_names(folder, split):
    """The split's shard names (without extension), in order."""
    try:
        summ = json.load(open(os.path.join(folder, "summary.json")))
        names = (summ.get("shards") or {}).get(split)
        if names is not None:
            return list(names)
    except FileNotFoundError:
        pass
    pre = split + "-"
    names = [f[:-len(".idx.jsonl")] for f in os.listdir(folder) if f.startswith(pre) and f.endswith(".idx.jsonl")]
    return sorted(names, key=lambda n: (len(n), n))


def _byte_to_char(text):
    """For non-ASCII text: (is_char_start, char_index) arrays over its UTF-8 bytes."""
    import numpy as np
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    start = (raw & 0xC0) != 0x80
    return start, np.cumsum(start) - 1


def load_shards(folder, split, tok, min_chars=200, stats=None):
    """Documents of the Go corpus builder's shards (`unmask data build`):
    <split>-NNN.bin (uint16 little-endian token ids, each document followed
    by <|endoftext|>) and <split>-NNN.idx.jsonl (one line per document).
    Token ids are decoded back to text with tok (byte-level BPE: exact); a
    document whose decoded UTF-8 length differs from the index's "bytes" (a
    different tokenizer, a damaged shard) is skipped and counted. Returns
    load_docs' shape plus "spans": [(a, b, kind)] in character offsets of
    "text", kind "statement" | "block" | "expression". stats (a dict), if
    given, gets the counts."""
    import numpy as np
    names = _shard_names(folder, split)
    if not names:
        raise FileNotFoundError(f"no {split} shards in {folder}")
    st = {"docs": 0, "short": 0, "bad_eos": 0, "bytes_mismatch": 0, "bad_spans": 0} if stats is None else stats
    for k in ("docs", "short", "bad_eos", "bytes_mismatch", "bad_spans"):
        st.setdefault(k, 0)
    kinds = {}
    docs = []
    for name in names:
        data = np.memmap(os.path.join(folder, name + ".bin"), dtype="<u2", mode="r")
        ents, seqs = [], []
        for l in open(os.path.join(folder, name + ".idx.jsonl")):
            e = json.loads(l)
            o, n = e["offset"], e["tokens"]
            if o + n >= len(data) or data[o + n] != EOS:
                st["bad_eos"] += 1
                continue
            ents.append(e)
            seqs.append(data[o:o + n].tolist())
        texts = tok.decode_batch(seqs, skip_special_tokens=False) if seqs else []
        for e, text in zip(ents, texts):
            nb = e["bytes"]
            if len(text.encode("utf-8")) != nb:
                st["bytes_mismatch"] += 1
                continue
            if len(text) < min_chars:
                st["short"] += 1
                continue
            conv = None if len(text) == nb else _byte_to_char(text)
            spans = []
            for a, b, k in e.get("spans") or ():
                if not (0 <= a <= b <= nb):
                    st["bad_spans"] += 1
                    continue
                if conv is not None:
                    start, ci = conv
                    if (a < nb and not start[a]) or (b < nb and not start[b]):
                        st["bad_spans"] += 1
                        continue
                    a = int(ci[a]) if a < nb else len(text)
                    b = int(ci[b]) if b < nb else len(text)
                spans.append((a, b, kinds.setdefault(k, k)))
            docs.append({"source": e["source"], "path": e["path"], "lang": e["lang"], "text": text, "spans": spans})
            st["docs"] += 1
    return docs


def load_corpus(spec, split, tok, min_chars=200):
    """--train / --heldout: a .jsonl file (load_docs), or a shards folder
    written by `unmask data build`: DIR reads DIR's <split> shards, DIR:SPLIT
    a named split (e.g. --heldout train/data/shards:train)."""
    path, sp = spec, split
    if not os.path.isdir(path) and ":" in spec:
        head, tail = spec.rsplit(":", 1)
        if os.path.isdir(head):
            path, sp = head, tail
    if not os.path.isdir(path):
        return load_docs(spec, min_chars)
    st = {}
    docs = load_shards(path, sp, tok, min_chars, st)
    skipped = {k: v for k, v in st.items() if k != "docs" and v}
    print(f"{path} {sp}: {len(docs)} documents, {sum(len(d['spans']) for d in docs)} spans"
          + (f"; skipped {skipped}" if skipped else ""), file=sys.stderr, flush=True)
    if st["bytes_mismatch"] > st["docs"]:
        raise ValueError(f"{path}: {st['bytes_mismatch']} of {st['bytes_mismatch'] + st['docs']} documents do not "
                         "decode to their indexed length: were the shards built with another tokenizer?")
    return docs


def _line_bounds(text, i):
    s = text.rfind("\n", 0, i) + 1
    e = text.find("\n", i)
    if e < 0:
        e = len(text)
    return s, e


def _indent(line):
    return len(line) - len(line.lstrip(" \t"))


def _syntax_span(rng, kind, spans):
    """A middle from the annotated spans, or None when the document has no
    span of that kind: a whole node, or for rest_of_expression the node's
    tail from a random character inside it."""
    want = SPAN_KIND[kind]
    lo = 2 if kind == "rest_of_expression" else 1
    cands = [(a, b) for a, b, k in spans if k == want and lo <= b - a <= MAX_SPAN_CHARS]
    if not cands:
        return None
    a, b = rng.choice(cands)
    if kind == "rest_of_expression":
        a = rng.randrange(a + 1, b)
    return kind, a, b


def sample_span(text, rng: random.Random, kind=None, spans=None):
    """Returns (kind, a, b): the middle is text[a:b]. spans: the document's
    annotations [(a, b, kind)] in characters; without any, the text-rule
    kinds are drawn exactly as they always were."""
    if spans and kind is None:
        kind = rng.choices(ANNOTATED_KINDS, ANNOTATED_WEIGHTS)[0]
    if kind in SYNTAX_KINDS:
        r = _syntax_span(rng, kind, spans or ())
        if r is not None:
            return r
        kind = None  # no such node here: a text-rule kind instead
    if kind is None:
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    n = len(text)
    for _ in range(20):
        i = rng.randrange(n)
        s, e = _line_bounds(text, i)
        line = text[s:e]
        if not line.strip():
            continue
        ind = s + _indent(line)
        if kind == "line":
            a = s if rng.random() < 0.3 else ind
            return kind, a, e
        if kind == "rest_of_line":
            if e - ind < 2:
                continue
            a = rng.randrange(ind + 1, e)
            return kind, a, e
        if kind == "block":
            # From this line through the lines indented deeper than it (a
            # body), or 2..8 following lines, whichever is shorter.
            base = _indent(line)
            end = e
            nlines = 1
            limit = rng.randint(2, 8)
            while end < n and nlines < 16:
                ns, ne = _line_bounds(text, end + 1)
                nl = text[ns:ne]
                if nl.strip() and _indent(nl) <= base:
                    # the closing line of a body (e.g. "}") belongs to it
                    if nl.strip()[0] in "})]" and nlines > 1:
                        end = ne
                    break
                end = ne
                nlines += 1
                if nlines >= limit and rng.random() < 0.5:
                    break
            if nlines < 2:
                continue
            a = s if rng.random() < 0.3 else ind
            return kind, a, end
        if kind == "random":
            ln = min(int(rng.expovariate(1 / 40)) + 1, 300)
            a = rng.randrange(max(1, n - ln))
            return kind, a, min(n, a + ln)
        if kind == "empty":
            return kind, i, i
    return "random", 0, min(n, 20)


class Sampler:
    """Makes training examples of a fixed length T = ctx + B."""

    def __init__(self, docs, tok, T=288, B=32, max_cont_blocks=3):
        self.docs = docs
        self.tok = tok
        self.T, self.B = T, B
        self.ctx = T - B  # context length including the anchor
        self.max_cont = max_cont_blocks
        w = [min(len(d["text"]), 20000) for d in docs]
        tot = sum(w)
        self.cum = []
        c = 0
        for x in w:
            c += x
            self.cum.append(c / tot)

    def pick_doc(self, rng):
        import bisect
        return self.docs[min(bisect.bisect_left(self.cum, rng.random()), len(self.docs) - 1)]

    def example(self, rng: random.Random, doc=None, kind=None, cont=None):
        """Returns dict(ids=[T], pad=int, block=[B] true block tokens, kind)."""
        d = doc or self.pick_doc(rng)
        text = d["text"]
        kind, a, b = sample_span(text, rng, kind, d.get("spans"))
        # Windows: ~4 chars/token is an upper bound for code at this vocabulary.
        pa = text.rfind("\n", 0, max(0, a - self.ctx * 5)) + 1 if a > self.ctx * 5 else 0
        prefix = text[pa:a]
        middle = text[a:b]
        suffix = text[b:b + self.ctx * 3]
        P, M, S = self.tok.encode_batch([prefix, middle, suffix], add_special_tokens=False)
        P, M, S = P.ids, M.ids, S.ids
        Mfull = M + [EOS]
        nblk = (len(Mfull) - 1) // self.B + 1
        # Finished blocks leave at least 16 tokens of context (only short
        # sequences hit this bound; T = 288 allows 7 blocks, above max_cont).
        room = max(1, (self.ctx - 3 - 16) // self.B + 1)
        j = cont if cont is not None else rng.randrange(min(nblk, self.max_cont + 1, room))
        done = M[:j * self.B]
        block = Mfull[j * self.B:(j + 1) * self.B]
        block = block + [EOS] * (self.B - len(block))
        budget = self.ctx - 3 - len(done)
        sfrac = rng.uniform(0.1, 0.45)
        ns = min(len(S), int(budget * sfrac))
        np_ = min(len(P), budget - ns)
        ns = min(len(S), budget - np_)  # give unused prefix room to the suffix
        ctx = [FIM_SUFFIX] + S[:ns] + [FIM_PREFIX] + P[len(P) - np_:] + [FIM_MIDDLE] + done
        pad = self.ctx - len(ctx)
        ids = [PAD] * pad + ctx + block
        return {"ids": ids, "pad": pad, "block": block, "kind": kind, "lang": d["lang"]}
