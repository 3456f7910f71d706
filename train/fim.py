"""Fill-in-the-middle example sampling in the suffix-prefix-middle layout.

Spans are cut at character level, then prefix, middle and suffix are
tokenized separately (plain text, special tokens not matched) exactly as the
infill decoder tokenizes a request, so training sees the token boundaries that
inference sees. Span kinds follow real completion requests: a whole line, the
rest of a line, a multi-line block (lines up to where the indentation returns),
a random character span, and an empty middle.
"""
import json
import random

EOS, MASK, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, PAD = 0, 1, 2, 3, 4, 5
KINDS = ("line", "rest_of_line", "block", "random", "empty")
KIND_WEIGHTS = (0.30, 0.22, 0.25, 0.20, 0.03)


def load_docs(path, min_chars=200):
    docs = []
    for l in open(path):
        d = json.loads(l)
        if len(d["text"]) >= min_chars:
            docs.append(d)
    return docs


def _line_bounds(text, i):
    s = text.rfind("\n", 0, i) + 1
    e = text.find("\n", i)
    if e < 0:
        e = len(text)
    return s, e


def _indent(line):
    return len(line) - len(line.lstrip(" \t"))


def sample_span(text, rng: random.Random, kind=None):
    """Returns (kind, a, b): the middle is text[a:b]."""
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
        kind, a, b = sample_span(text, rng, kind)
        # Windows: ~4 chars/token is an upper bound for code at this vocabulary.
        pa = text.rfind("\n", 0, max(0, a - self.ctx * 5)) + 1 if a > self.ctx * 5 else 0
        prefix = text[pa:a]
        middle = text[a:b]
        suffix = text[b:b + self.ctx * 3]
        P, M, S = self.tok.encode_batch([prefix, middle, suffix], add_special_tokens=False)
        P, M, S = P.ids, M.ids, S.ids
        Mfull = M + [EOS]
        nblk = (len(Mfull) - 1) // self.B + 1
        j = cont if cont is not None else rng.randrange(min(nblk, self.max_cont + 1))
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
