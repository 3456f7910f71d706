#!/usr/bin/env python3
"""Exports a training checkpoint to our checkpoint format and checks it.

  python train/export.py --ckpt train/runs/NAME/ckpt.pt --out model/defaultmodel/weights \
      [--golden model/defaultmodel/testdata/golden.json]

Writes config.json (HF Qwen2 fields + our flat unmask fields), model.safetensors
(BF16 by default, HF Qwen2 tensor names, tied embeddings so no lm_head.weight)
and tokenizer.json. Then loads the folder with transformers'
Qwen2ForCausalLM and checks its causal logits against ours (same BF16-rounded
weights, fp32 math). With --golden it also writes top-k ids and
log-probabilities at every block position of two requests, computed with the
context-causal mask, for the Go engine's parity test.
"""
import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fim import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, MASK, PAD  # noqa: E402
from model import Config, Qwen2, build_mask  # noqa: E402


def hf_config(cfg: Config, dtype: str, block: int, seq: int):
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "hidden_act": "silu",
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        # The longest sequence trained on: contexts longer than this are out of
        # distribution for the position encoding.
        "max_position_embeddings": seq,
        "vocab_size": cfg.vocab_size,
        "tie_word_embeddings": True,
        "torch_dtype": dtype,
        "use_sliding_window": False,
        "sliding_window": None,
        "max_window_layers": cfg.num_hidden_layers,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": True,
        "unmask_attention": "context-causal",
        "unmask_logit_shift": True,
        "unmask_block_size": block,
        "mask_token_id": MASK,
        "eos_token_id": EOS,
        "pad_token_id": PAD,
        "bos_token_id": None,
        "fim_prefix_token_id": FIM_PREFIX,
        "fim_middle_token_id": FIM_MIDDLE,
        "fim_suffix_token_id": FIM_SUFFIX,
    }


GOLDEN_PREFIX = 'package main\n\nimport "fmt"\n\n// sum returns the sum of xs.\nfunc sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n'
GOLDEN_SUFFIX = '\n\t}\n\treturn total\n}\n\nfunc main() {\n\tfmt.Println(sum([]int{1, 2, 3}))\n}\n'


def block_logprobs(model, ctx, block):
    """Log-softmax at every block position for the sequence ctx[:-1] + block
    where block[0] is the anchor (= ctx[-1])."""
    ids = ctx[:-1] + block
    T = len(ids)
    R = len(ctx) - 1
    x = torch.tensor([ids])
    pos = torch.arange(T)[None]
    with torch.no_grad():
        lg = model(x, pos, build_mask(T, [0], R))[0, R:].float()
    return torch.log_softmax(lg, -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default="train/data/tokenizer.json")
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--golden", default="")
    ap.add_argument("--topk", type=int, default=5)
    ap.add_argument("--ema", action="store_true", help="export the run's moving average of the weights (train.py --ema)")
    ap.add_argument("--languages", default="",
                    help="LSP languageIds the model was trained on, comma-separated, for config.json's unmask_languages "
                         "(the language server completes only these unless told otherwise); default: go, and python "
                         "when the run drew Python documents (--python-frac > 0)")
    a = ap.parse_args()
    ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
    cfg = Config(**ck["config"])
    args = ck["args"]
    model = Qwen2(cfg)
    if a.ema and "ema" not in ck:
        raise SystemExit(f"export: {a.ckpt} has no moving average (train.py --ema)")
    model.load_state_dict(ck["ema"] if a.ema else ck["model"])
    dt = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32
    # Round the weights to the stored dtype, then compute in fp32 from them:
    # the reference for both transformers and the Go engine.
    sd = {k: v.to(dt).contiguous() for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    save_file(sd, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    conf = hf_config(cfg, a.dtype, args["block"], args["seq"])
    conf["unmask_train"] = {"step": ck["step"], "tokens_seen": ck["tokens_seen"], "seed": args["seed"]}
    if a.ema:
        conf["unmask_train"]["weights"] = f"moving average, decay {args['ema']}"
    langs = a.languages.split(",") if a.languages else ["go"] + (["python"] if args.get("python_frac", 0) > 0 else [])
    conf["unmask_languages"] = [l.strip() for l in langs if l.strip()]
    json.dump(conf, open(os.path.join(a.out, "config.json"), "w"), indent=1)
    shutil.copy(a.tokenizer, os.path.join(a.out, "tokenizer.json"))
    size = os.path.getsize(os.path.join(a.out, "model.safetensors"))
    print(f"wrote {a.out}: model.safetensors {size/1e6:.2f} MB, step {ck['step']}, tokens {ck['tokens_seen']}")

    # transformers parity on a causal input
    from transformers import Qwen2ForCausalLM
    hf = Qwen2ForCausalLM.from_pretrained(a.out, torch_dtype=torch.float32)
    hf.eval()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(a.tokenizer)
    ids = tok.encode(GOLDEN_PREFIX, add_special_tokens=False).ids
    x = torch.tensor([ids])
    T = len(ids)
    with torch.no_grad():
        ref = hf(x).logits[0]
        ours = model(x, torch.arange(T)[None], build_mask(T, [0], T))[0]
    d = (ref - ours).abs().max().item()
    print(f"transformers Qwen2ForCausalLM causal logits vs ours: max |diff| = {d:.2e}")
    if d > 1e-3:
        sys.exit("export: transformers logits differ from ours")

    if a.golden:
        S = tok.encode(GOLDEN_SUFFIX, add_special_tokens=False).ids
        P = tok.encode(GOLDEN_PREFIX, add_special_tokens=False).ids
        B = args["block"]
        ctx = [FIM_SUFFIX] + S + [FIM_PREFIX] + P + [FIM_MIDDLE]
        cases = []
        # 1: the first block, all masks after the anchor
        blk1 = [ctx[-1]] + [MASK] * B
        # 2: some positions already committed (bidirectional reads inside the block)
        lp1 = block_logprobs(model, ctx, blk1)
        greedy = lp1.argmax(-1).tolist()
        blk2 = list(blk1)
        for j in range(1, B + 1, 3):
            blk2[j] = greedy[j - 1]
        for name, blk in (("first_block", blk1), ("partly_committed", blk2)):
            lp = block_logprobs(model, ctx, blk)
            top = torch.topk(lp, a.topk, dim=-1)
            ent = -(lp.exp() * lp).sum(-1)
            cases.append({"name": name, "context": ctx[:-1], "block": blk,
                          "top_ids": top.indices.tolist(),
                          "top_logprobs": [[round(v, 5) for v in r] for r in top.values.tolist()],
                          "entropy": [round(v, 5) for v in ent.tolist()]})
        os.makedirs(os.path.dirname(a.golden), exist_ok=True)
        json.dump({"note": "written by train/export.py from the embedded model; logits in fp32 from the stored weights",
                   "prefix": GOLDEN_PREFIX, "suffix": GOLDEN_SUFFIX, "cases": cases},
                  open(a.golden, "w"), indent=0)
        print("golden:", a.golden, "greedy first block:", repr(tok.decode([t for t in greedy if t != EOS][:B])))


if __name__ == "__main__":
    main()
