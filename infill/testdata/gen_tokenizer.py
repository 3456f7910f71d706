"""Writes bytes-tokenizer.json: a tiny byte-level BPE tokenizer.json for the
decoder's end-to-end tests (no dependencies; run with python3 from this
folder). Ids 0..255 are the 256 byte-level characters, then a few merges that
make "return" a multi-byte token, then the special tokens of our
checkpoints."""
import json


def bytes_to_unicode():
    # GPT-2's byte-level alphabet, as Hugging Face tokenizers builds it.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


alphabet = bytes_to_unicode()
vocab = {alphabet[b]: b for b in range(256)}
# No merge makes ids above 127 out of plain ASCII other than "return": the
# engine command's test pairs this tokenizer with a 128-token fixture.
merges = [("r", "e"), ("re", "t"), ("ret", "u"), ("retu", "r"), ("retur", "n")]
for a, b in merges:
    vocab[a + b] = len(vocab)
specials = ["<|endoftext|>", "<|mask|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|pad|>"]
added = []
for s in specials:
    added.append({"id": len(vocab), "content": s, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True})
    vocab[s] = len(vocab)

tok = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": added,
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
    "post_processor": None,
    "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
}
with open("bytes-tokenizer.json", "w", encoding="utf-8") as f:
    json.dump(tok, f, ensure_ascii=False, indent=1)
print(len(vocab), "tokens; specials", {s: vocab[s] for s in specials})
