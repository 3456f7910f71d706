#!/bin/bash
# compare.sh: ours vs PyTorch on one shape, back to back on one machine,
# printed as the README's table rows.
#
#   model/bench/compare.sh [shape] [threads] [context] [block] [prefill-runs] [steps]
#
# Needs a venv with model/testdata/requirements.txt (PYTHON, default
# /work/venv-model/bin/python). Wall times on a shared machine are noisy;
# the CPU columns (process CPU time per unit of work) are steadier.
set -euo pipefail
shape=${1:-qwen2.5-0.5b}
threads=${2:-2}
context=${3:-512}
block=${4:-32}
runs=${5:-2}
steps=${6:-5}
py=${PYTHON:-/work/venv-model/bin/python}
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)/unmask
go build -o "$bin" ./cmd/unmask
common=(--shape "$shape" --context "$context" --block "$block" --threads "$threads" --prefill-runs "$runs" --steps "$steps" --json)
row() {
	"$py" -c '
import json, sys
r = json.load(sys.stdin)
print("| %s | %d | %.1f | %.3f | %.1f | %.1f |" % (sys.argv[1], r["threads"], r["prefill_tokens_per_s"],
      r["prefill_cpu_s"], r["denoise_step_ms"], r["denoise_step_cpu_ms"]))
' "$1"
}
echo "shape $shape, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}, context $context, block $block, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| engine | threads | prefill tokens/s | prefill CPU s | denoise step ms | denoise step CPU ms |"
echo "|---|---|---|---|---|---|"
"$bin" bench "${common[@]}" 2>/dev/null | row "unmask (Go, fp32)"
"$bin" bench "${common[@]}" --bf16 2>/dev/null | row "unmask (Go, bf16 weights)"
if "$bin" bench --shape default --context 8 --steps 1 --prefill-runs 1 --bf16dot >/dev/null 2>&1; then # the CPU has AVX-512 BF16
	"$bin" bench "${common[@]}" --bf16dot 2>/dev/null | row "unmask (Go, bf16 dot products)"
fi
"$py" model/bench/torch_bench.py "${common[@]}" --dtype float32 | row "PyTorch $("$py" -c 'import torch; print(torch.__version__)') fp32"
"$py" model/bench/torch_bench.py "${common[@]}" --dtype bfloat16 | row "PyTorch bf16"
echo "end $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
