#!/usr/bin/env bash
# The training scripts' tests that need no PyTorch (stdlib only): the
# corpus cap and its held-out filter (train/test_cap.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 train/test_cap.py
