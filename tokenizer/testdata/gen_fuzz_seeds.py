#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz tests (testdata/fuzz/...):
malformed and unusual tokenizer.json files for FuzzParse, hard text for
FuzzRoundTrip. Plain Python, no dependencies.

    python3 tokenizer/testdata/gen_fuzz_seeds.py
"""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))


def byte_alphabet():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def mini(**changes):
    alpha = byte_alphabet()
    vocab = {c: i for i, c in enumerate(alpha)}
    merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["a", "b"], ["ab", "ab"], ["Ġ", "Ġ"]]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    d = {
        "version": "1.0",
        "added_tokens": [
            {"id": len(vocab), "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": len(vocab) + 1, "content": "<|mask|>", "single_word": False, "lstrip": True, "rstrip": True, "normalized": False, "special": True},
            {"id": len(vocab) + 2, "content": "TODO", "single_word": True, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab, "merges": merges},
    }
    for path, value in changes.items():
        node, keys = d, path.split(".")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return json.dumps(d, ensure_ascii=False)


def go_bytes(b: bytes) -> str:
    out = []
    for c in b:
        if c == ord('"') or c == ord("\\"):
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return '"' + "".join(out) + '"'


def write(fuzz, name, kind, value: bytes):
    d = os.path.join(HERE, "fuzz", fuzz)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write("go test fuzz v1\n%s(%s)\n" % (kind, go_bytes(value)))


def main():
    good = mini()
    parse = {
        "valid": good,
        "merges-strings": mini(**{"model.merges": ["Ġ t", "h e", "Ġt he"]}),
        "gpt2-bytelevel": mini(**{"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}, "normalizer": None}),
        "llama3": mini(**{"pre_tokenizer.pretokenizers.0.pattern.Regex": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"}),
        "split-string": mini(**{"pre_tokenizer": {"type": "Split", "pattern": {"String": "ab"}, "behavior": "Isolated", "invert": False}}),
        "ignore-merges-unk": mini(**{"model.ignore_merges": True, "model.unk_token": "a", "model.fuse_unk": True}),
        "no-decoder": mini(**{"decoder": None}),
        "truncated": good[: len(good) // 2],
        "wordpiece": mini(**{"model.type": "WordPiece"}),
        "bad-regex": mini(**{"pre_tokenizer.pretokenizers.0.pattern.Regex": r"\w+|\s+"}),
        "merge-missing": mini(**{"model.merges": [["Ġ", "zz"]]}),
        "merge-3": mini(**{"model.merges": ["a b c"]}),
        "neg-id": mini(**{"model.vocab": {"a": -5}}),
        "huge-id": mini(**{"model.vocab": {"a": 1 << 40}}),
        "added-empty": mini(**{"added_tokens.0.content": ""}),
        "added-no-id": mini(**{"added_tokens.0.id": None}),
        "normalizer-seq": mini(**{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "NFKC"}]}}),
        "types-wrong": '{"model": [], "added_tokens": {}}',
        "empty": "",
        "null": "null",
    }
    for name, text in parse.items():
        write("FuzzParse", name, "[]byte", text.encode("utf-8"))
    texts = {
        "code": "package main\r\n\r\nfunc main() {\n\tfmt.Println(\"😀 héllo\") // it's\n}\n   \n",
        "specials": "<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|><|mask|><|endoftext|>",
        "invalid": b"ok \xff\xfe \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf \x80".decode("latin-1"),
        "nfc": "e\u0301 cafe\u0301 \u1e0b\u0323 >\u0338 <|mask|>\u0338 \n\u0f43a \u0344\u0958",
        "spaces": "a" + " " * 30 + "\u00a0\u3000\u2028\u0085\t\x0b\x0c b",
    }
    for name, text in texts.items():
        raw = text.encode("latin-1") if name == "invalid" else text.encode("utf-8")
        write("FuzzRoundTrip", name, "string", raw)


main()
