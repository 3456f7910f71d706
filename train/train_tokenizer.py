#!/usr/bin/env python3
"""Trains our byte-level BPE tokenizer with Hugging Face `tokenizers`.

Pre-tokenizer exactly as Qwen2's tokenizer.json: Split(Qwen2 regex, Isolated)
then ByteLevel(add_prefix_space=False, use_regex=False); ByteLevel decoder; no
normalizer (code bytes are kept exactly; Qwen2's NFC is left out on purpose).
Special tokens get the first ids, in this order:
  0 <|endoftext|>  1 <|mask|>  2 <|fim_prefix|>  3 <|fim_middle|>  4 <|fim_suffix|>  5 <|pad|>

  python train/train_tokenizer.py --vocab 8192 --out train/data/tokenizer.json
  python train/train_tokenizer.py --measure 4096,8192,16384   # bytes/token on held-out
"""
import argparse
import json
import random

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<|mask|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|pad|>"]


def texts(path, limit_bytes, seed=0):
    docs = [json.loads(l) for l in open(path)]
    random.Random(seed).shuffle(docs)
    n = 0
    for d in docs:
        if n > limit_bytes:
            break
        n += len(d["text"])
        yield d["text"]


def build(vocab, corpus, limit_bytes):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts(corpus, limit_bytes), trainer=trainer)
    for i, s in enumerate(SPECIAL):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    return tok


def bytes_per_token(tok, heldout):
    out = {}
    for lang in ("go", "python"):
        b = t = 0
        for l in open(heldout):
            d = json.loads(l)
            if d["lang"] != lang:
                continue
            b += len(d["text"].encode())
            t += len(tok.encode(d["text"]).ids)
        out[lang] = round(b / max(t, 1), 3)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="train/data/corpus/train.jsonl")
    ap.add_argument("--heldout", default="train/data/corpus/heldout.jsonl")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--limit-mb", type=float, default=40)
    ap.add_argument("--out", default="train/data/tokenizer.json")
    ap.add_argument("--measure", default="")
    args = ap.parse_args()
    lim = int(args.limit_mb * 1e6)
    if args.measure:
        for v in [int(x) for x in args.measure.split(",")]:
            tok = build(v, args.corpus, lim)
            print(json.dumps({"vocab": v, "bytes_per_token": bytes_per_token(tok, args.heldout)}), flush=True)
        return
    tok = build(args.vocab, args.corpus, lim)
    tok.save(args.out)
    print(json.dumps({"vocab": args.vocab, "bytes_per_token": bytes_per_token(tok, args.heldout)}))


if __name__ == "__main__":
    main()
