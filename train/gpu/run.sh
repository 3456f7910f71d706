#!/bin/bash
# On a lent GPU (the device tool runs it in the repository root, with
# train/gpu/carry from prepare.sh): train the default model's shape from
# scratch for $MINUTES wall minutes (the LR and stage schedule follow the
# clock, torch.compile's warm-up included) and leave in $OUT the weights
# without the optimizer (model.pt, for train/export.py), the JSON log and
# the console output. Every figure it prints is measured on the device.
set -euo pipefail
cd "$(dirname "$0")/../.."
c=train/gpu/carry
OUT=${OUT:-/tmp/unmask-gpu-out}
MINUTES=${MINUTES:-7.5}
mkdir -p "$OUT"

main() {
# DEVICE=cpu PYTHON=... MINUTES=0.5 SHAPE_ARGS=... WORKERS=2 BATCH=4 is the
# smoke test of this script on a machine without a GPU.
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
COMPILE=${COMPILE---compile}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PYTHON" -c 'import sys, torch; print("torch", torch.__version__, "cuda", torch.version.cuda); assert sys.argv[1] == "cpu" or torch.cuda.is_available()' "$DEVICE"
if ! "$PYTHON" -c 'import tokenizers' 2>/dev/null; then
	mkdir -p /tmp/unmask-py && "$PYTHON" -m zipfile -e "$c"/wheels/tokenizers-*.whl /tmp/unmask-py
	export PYTHONPATH=/tmp/unmask-py${PYTHONPATH:+:$PYTHONPATH}
fi
gunzip -c "$c/train.jsonl.gz" > /tmp/unmask-train.jsonl
run=/tmp/unmask-run
rm -rf "$run"
# The shape: what fits the 24 MB budget in BF16 (11.4M parameters, 22.9 MB)
# and keeps the CPU engine's step within the latency target; SHAPE_ARGS
# overrides it.
SHAPE_ARGS=${SHAPE_ARGS:---hidden 320 --layers 8 --heads 5 --kv-heads 1 --ffn 896}
# shellcheck disable=SC2086 # SHAPE_ARGS and COMPILE are word lists
"$PYTHON" train/train.py --run "$run" --device "$DEVICE" --workers "${WORKERS:-12}" $COMPILE \
	--train /tmp/unmask-train.jsonl --heldout "$c/heldout.jsonl" --tokenizer "$c/tokenizer.json" \
	--minutes "$MINUTES" --seq 288 --block 32 $SHAPE_ARGS --batch "${BATCH:-128}" --lr 2e-3 \
	--warmup 100 --ar-frac 0.1 --sub-frac 0.2 --python-frac 0.3 --seed 2026 --dtype bf16 \
	--eval-every 250 --eval-n 96 --ckpt-minutes 2 --log-every 20 --threads "${THREADS:-4}"
"$PYTHON" - "$run/ckpt.pt" "$OUT/model.pt" <<'PY'
import sys, torch
ck = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
ck.pop("opt")
torch.save(ck, sys.argv[2])
print(f"model.pt: step {ck['step']}, {ck['tokens_seen']/1e6:.1f}M tokens")
PY
cp "$run/log.jsonl" "$run/args.json" "$OUT/"
}

main 2>&1 | tee "$OUT/out.txt"
