#!/bin/bash
# Here (no GPU needed): pack what a lent GPU needs to train the default
# model into train/gpu/carry (ignored by git; about 19 MB, under the device
# tool's 64 MiB carry limit): the corpus gzipped, the held-out split, the
# tokenizer, and a tokenizers wheel in case the device's Python lacks it
# (it cannot reach PyPI). Then run, with the device tool:
#
#   run  command: bash train/gpu/run.sh   carry: ["train/gpu/carry"]   timeout_s: 590
#
# and export what comes back (train/README.md, "On a lent GPU").
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
# TRAIN picks the training split: train/data/corpus-more/train-more.jsonl
# (the stdlib, PyPI and the extra Go modules, §1) is 139 MB, 30 MB gzipped.
train=${TRAIN:-train/data/corpus/train.jsonl}
out=train/gpu/carry
for f in "$train" train/data/corpus/heldout.jsonl train/data/tokenizer.json; do
	[ -f "$f" ] || { echo "prepare.sh: $f missing: build the corpus and tokenizer first (train/README.md §1–2)" >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out/wheels"
gzip -6 -c "$train" > "$out/train.jsonl.gz"
cp train/data/corpus/heldout.jsonl train/data/tokenizer.json "$out/"
# 0.20.3 (train/requirements.txt) has no abi3 wheel; 0.20.4 is its patch release
# (yanked on PyPI only for dropping Python 3.7 and 3.8).
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	--abi abi3 --platform manylinux_2_17_x86_64 tokenizers==0.20.4 -d "$out/wheels"
du -sh "$out"
