#!/usr/bin/env python3
"""Regenerates the tokenizer golden files from the reference implementation,
Hugging Face `tokenizers` (the Rust library, pinned in requirements.txt).

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install -r tokenizer/testdata/requirements.txt
    bash scripts/setup/10-tokenizer.sh          # fetches the Qwen3 tokenizer and the source corpus
    /tmp/tokvenv/bin/python tokenizer/testdata/gen_golden.py [--train]

Writes tokenizer/testdata/golden/<name>.jsonl: a header line naming the
tokenizer file (and its sha256), then one JSON object per case:
  hard-text cases: text (or hex for invalid UTF-8), ids, starts (byte offsets),
    plain (ids with added tokens not matched), prefixes (decode of every
    prefix of ids, for the lossy decoder);
  file cases: the file (root:path) and its sha256, byte and token counts, and
    sha256 digests of the ids (whole and per 1024-token chunk) and starts, so
    the golden stays small while the corpus is large.
--train retrains the small tokenizer (small.json) with the reference's
BpeTrainer; the variants small-gpt2.json, small-llama3.json and
small-seq.json are derived from it by editing the JSON (other
pre-tokenizers, merge spelling, added-token flags).
"""
import argparse, codecs, glob, hashlib, json, os, struct, subprocess, sys

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
QWEN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIALS = ["<|endoftext|>", "<|mask|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|pad|>"]

# Real source files, from places with pinned versions: the Go module cache
# (go.sum), $UNMASK_TESTDEPS (scripts/setup/10-tokenizer.sh) and GOROOT
# (the Go toolchain; the tests skip these when the toolchain's copy differs).
TREESITTER = "github.com/smacker/go-tree-sitter@v0.0.0-20240827094217-dd81d9e9be82"
INPUTS = [
    ("gomod", "go.uber.org/zap@v1.28.0/*.go"),
    ("gomod", "golang.org/x/text@v0.44.0/unicode/norm/normalize.go"),
    ("gomod", "golang.org/x/text@v0.44.0/unicode/norm/composition.go"),
    ("gomod", "golang.org/x/text@v0.44.0/unicode/norm/iter.go"),
    ("gomod", TREESITTER + "/*.c"),
    ("gomod", TREESITTER + "/*.h"),
    ("gomod", TREESITTER + "/*.go"),
    ("testdeps", "tokenizer-corpus/six/six.py"),
    ("testdeps", "tokenizer-corpus/packaging/packaging/*.py"),
    ("testdeps", "tokenizer-corpus/smallvec/**/*.rs"),
    ("testdeps", "tokenizer-corpus/capacitor-android/package/**/*.java"),
    ("testdeps", "tokenizer-corpus/capacitor-android/package/**/*.js"),
    ("testdeps", "tokenizer-corpus/hf-tokenizers/package/dist/tokenizers.mjs"),
    ("testdeps", "tokenizer-corpus/hf-tokenizers/package/types/**/*.d.ts"),
    ("goroot", "src/net/http/server.go"),
    ("goroot", "src/go/parser/parser.go"),
]


def lcg_text(n, alphabet, seed=12345):
    out, x = [], seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) % (1 << 31)
        out.append(alphabet[x % len(alphabet)])
    return "".join(out)


# Hard text, written for these tests. Bytes values are invalid UTF-8.
HARD = [
    ("empty", ""),
    ("single-space", " "),
    ("crlf", "package main\r\n\r\nfunc main() {\r\n\tprintln(\"hi\")\r\n}\r\n"),
    ("tabs", "\t\tif x {\n\t\t\treturn\t1\n\t\t}\n\t"),
    ("space-runs", "a" + " " * 40 + "b\n" + " " * 17 + "\n" + "x  =  1   \n" + " " * 9 + "y"),
    ("blank-lines", "\n\n\n\nfoo\n\n\n   \n\t\n\nbar\n\n"),
    ("only-newlines", "\n\r\n\r\r\n\n\r"),
    ("trailing-ws", "x = 1   \ny = 2\t\t\nz = 3 \r\n  "),
    ("emoji", "// 😀 done 👍🏽 family 👨\u200d👩\u200d👧\u200d👦 flag 🇯🇵\nfmt.Println(\"🚀\")"),
    ("cjk", "// 你好，世界\nvar 名前 = \"日本語のテキスト\" // 한국어 텍스트\n"),
    ("combining", "e\u0301 cafe\u0301 n\u0303 A\u030a \u1e0b\u0323 q\u0307\u0323 Zalgo: Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319"),
    ("numbers", "x := 1234567890 + 3.14159e-10 - 0xDEADbeef; y = 1_000_000; ١٢٣ ½ Ⅻ ² 12a34"),
    ("specials-in-code", "s := \"<|fim_prefix|>\" + \"<|endoftext|>\"\n// <|mask|><|mask|> <|fim_middle|>x<|fim_suffix|>\n<|im_start|>user<|im_end|>"),
    ("special-edges", "<|mask|>   spaced   <|mask|>\n<|fim_prefix|><|fim_suffix|><|fim_middle|>"),
    ("contractions", "it's I'M we'LL they'Re you've 'd 'S 'ſ don't I'd"),
    ("apostrophes", "''' '' ' 's's ‘quoted’"),
    ("unicode-spaces", "a\u00a0b\u3000c\u2028d\u0085e\u200bf\u2003 g\u000bh\u000ci \u00a0\u00a0x"),
    ("mixed-script", "Привет мир Ελληνικά العربية עברית हिन्दी ไทย"),
    ("punct-newlines", "foo();\n\n}\n\n\n// end.\r\n\r\n)\n\t)\r"),
    ("minified-js", "function(a,b){return a+b};var x=[1,2,3].map(e=>e*2);if(!x){throw new Error('x')}"),
    ("leading-space-words", " hello  world   again    "),
    ("single-word", "TODO: fix; xTODO; TODOx; (TODO) TODO"),
    ("normalized-added", "x cafe\u0301-tok café-tok y"),
    ("long-word", "a" * 3000),
    ("long-punct", "=" * 500 + "\n" + "-*" * 200),
    ("base64", lcg_text(2000, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")),
    ("random-unicode", lcg_text(1500, "ab é€😀\n\t 1_ 中文'sS{}()<|>mask ¼\u0301\u00a0\r")),
    ("invalid-utf8", b"ok \xff\xfe bad \xe2\x82 trunc \xf0\x9f\x98 end \xed\xa0\x80 surrogate \xc0\xaf overlong \x80x"),
    ("invalid-utf8-alone", b"\xe4\xbd"),
]


def sweep_text(lo, hi):
    """Every code point in [lo, hi) but surrogates, each between letters,
    digits and spaces, so the scanner's character classes (\\p{L}, \\p{N},
    \\s) are checked against the reference's regex engine for all of Unicode.
    gen_golden.py and golden_test.go build the same text."""
    out = []
    for cp in range(lo, hi):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        out.append(c + "a" + c + "1 " + c + "\n")
    return "".join(out)


def digest_record(tok, name, raw, text, origin):
    e = tok.encode(text, add_special_tokens=False)
    ids = e.ids
    starts = [origin[a] for a, _ in e.offsets]
    chunks = [digest(ids[i:i + 1024])[:8] for i in range(0, len(ids), 1024)]
    return {"name": name, "bytes": len(raw), "tokens": len(ids), "ids_sha256": digest(ids), "chunks": " ".join(chunks),
            "starts_sha256": digest(starts), "decode_ok": tok.decode(ids, skip_special_tokens=False) == text}


def repaired(raw: bytes):
    """Decodes raw like Python's errors="replace" and returns the text and,
    for each character, the byte offset it came from."""
    spans = []

    def track(exc):
        spans.append((exc.start, exc.end))
        return ("\ufffd", exc.end)

    codecs.register_error("unmask-track", track)
    text = raw.decode("utf-8", errors="unmask-track")
    origin, pos, k = [], 0, 0
    for ch in text:
        origin.append(pos)
        if ch == "\ufffd" and k < len(spans) and spans[k][0] == pos:
            pos = spans[k][1]
            k += 1
        else:
            pos += len(ch.encode("utf-8"))
    origin.append(pos)
    return text, origin


def digest(nums, width="I"):
    return hashlib.sha256(struct.pack("<%d%s" % (len(nums), width), *nums)).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def roots():
    go = lambda v: subprocess.run(["go", "env", v], capture_output=True, text=True, check=True).stdout.strip()
    return {
        "gomod": go("GOMODCACHE"),
        "goroot": go("GOROOT"),
        "testdeps": os.environ.get("UNMASK_TESTDEPS", os.path.join(REPO, ".testdeps")),
    }


def corpus_files():
    r = roots()
    out = []
    for root, pattern in INPUTS:
        paths = sorted(glob.glob(os.path.join(r[root], pattern), recursive=True))
        if not paths:
            sys.exit("gen_golden: no file matches %s:%s (run scripts/setup/10-tokenizer.sh)" % (root, pattern))
        for p in paths:
            if ".min." in p:
                continue
            out.append((root + ":" + os.path.relpath(p, r[root]), p))
    return out


def train_small(files):
    texts = []
    for spec, path in files:
        if spec.startswith(("testdeps:tokenizer-corpus/six", "testdeps:tokenizer-corpus/smallvec", "gomod:go.uber.org")):
            texts.append(open(path, "rb").read().decode("utf-8", "replace"))
    texts += [t for _, t in HARD if isinstance(t, str)]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok.to_str()


def variants(small_json):
    d = json.loads(small_json)
    g = json.loads(small_json)  # GPT-2 style: ByteLevel regex + prefix space, "a b" merges, flags
    g["normalizer"] = None
    g["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    g["model"]["merges"] = [a + " " + b for a, b in g["model"]["merges"]]
    nxt = max(g["model"]["vocab"].values()) + 1
    for a in g["added_tokens"]:
        if a["content"] == "<|mask|>":
            a["lstrip"] = a["rstrip"] = True
    g["added_tokens"].append({"id": nxt, "content": "TODO", "single_word": True, "lstrip": False,
                              "rstrip": False, "normalized": True, "special": False})
    l = json.loads(small_json)  # LLaMA-3 pattern, ignore_merges, a normalized added token
    l["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}]}
    l["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    l["model"]["ignore_merges"] = True
    for a in l["added_tokens"]:
        if a["content"] == "<|fim_middle|>":
            a["rstrip"] = True
    l["added_tokens"].append({"id": nxt, "content": "cafe\u0301-tok", "single_word": False, "lstrip": True,
                              "rstrip": False, "normalized": True, "special": False})
    q = json.loads(small_json)  # two splitting stages: a literal, then ByteLevel's regex with a prefix space
    q["normalizer"] = None
    q["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "\n\n"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}]}
    dump = lambda d: json.dumps(d, ensure_ascii=False, indent=1)
    return {"small-gpt2": dump(g), "small-llama3": dump(l), "small-seq": dump(q)}


def without_added(json_text):
    d = json.loads(json_text)
    d["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(d))


def golden(name, spec, json_text, files, out):
    tok = Tokenizer.from_str(json_text)
    plain = without_added(json_text)
    lines = [{"tokenizer": name, "file": spec, "sha256": hashlib.sha256(json_text.encode()).hexdigest(),
              "reference": "tokenizers " + tokenizers.__version__}]
    stats = [0, 0, 0]
    for case, value in HARD:
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        text, origin = repaired(raw)
        e = tok.encode(text, add_special_tokens=False)
        rec = {"name": case}
        if isinstance(value, bytes):
            rec["hex"] = raw.hex()
        else:
            rec["text"] = value
        rec["ids"] = " ".join(map(str, e.ids))
        rec["starts"] = " ".join(str(origin[a]) for a, _ in e.offsets)
        p = plain.encode(text, add_special_tokens=False).ids
        if p != e.ids:
            rec["plain"] = " ".join(map(str, p))
        decoded = tok.decode(e.ids, skip_special_tokens=False)
        if decoded != text:
            rec["decoded"] = decoded
        if len(e.ids) <= 120 and len(raw) <= 400:
            rec["prefixes"] = [tok.decode(e.ids[:k], skip_special_tokens=False) for k in range(len(e.ids) + 1)]
        lines.append(rec)
    text = sweep_text(0x80, 0x30000)
    raw = text.encode("utf-8")
    rec = digest_record(tok, "unicode-sweep", raw, text, repaired(raw)[1])
    rec["sweep"] = [0x80, 0x30000]
    lines.append(rec)
    for fspec, path in files:
        raw = open(path, "rb").read()
        text, origin = repaired(raw)
        rec = digest_record(tok, fspec, raw, text, origin)
        rec["file"], rec["sha256"] = fspec, hashlib.sha256(raw).hexdigest()
        lines.append(rec)
        stats[0] += 1
        stats[1] += len(raw)
        stats[2] += rec["tokens"]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for rec in lines:
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    print("%s: %d files, %d bytes, %d tokens (+ %d hard texts) -> %s" % (name, stats[0], stats[1], stats[2], len(HARD), os.path.relpath(out, REPO)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", action="store_true", help="retrain small.json with the reference's BpeTrainer")
    args = ap.parse_args()
    files = corpus_files()
    small_path = os.path.join(HERE, "small.json")
    if args.train or not os.path.exists(small_path):
        with open(small_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(json.loads(train_small(files)), ensure_ascii=False, indent=1))
    small = open(small_path, encoding="utf-8").read()
    for name, text in variants(small).items():
        with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as f:
            f.write(text)
    testdeps = roots()["testdeps"]
    qwen = open(os.path.join(testdeps, "tokenizer-qwen3", "tokenizer.json"), encoding="utf-8").read()
    golden("qwen3", "testdeps:tokenizer-qwen3/tokenizer.json", qwen, files, os.path.join(HERE, "golden", "qwen3.jsonl"))
    for name in ["small", "small-gpt2", "small-llama3", "small-seq"]:
        text = open(os.path.join(HERE, name + ".json"), encoding="utf-8").read()
        golden(name, "testdata:" + name + ".json", text, files, os.path.join(HERE, "golden", name + ".jsonl"))


if __name__ == "__main__":
    main()
