#!/usr/bin/env bash
# The GPU engine's device verification, for a lent GPU machine (CUDA 13
# driver, PyTorch, no Go). Build first, here: bash gpu/device/build.sh; then
# run from the repository root on the device, carrying gpu/device/bin:
#   bash gpu/device/run.sh
# It runs, each step time-boxed so the whole fits in about ten minutes:
#   (a) op-by-op parity of every CUDA kernel with the plain-Go reference and
#       whole-backend parity with the CPU engine (gpu.test), then parity on
#       a Qwen2.5-0.5B-shaped random checkpoint (gpucheck parity);
#   (b) end-to-end infill on the default model at temperature 0, CUDA vs CPU
#       (gpucheck infill), when the default model is in the tree;
#   (c) the benchmark: decode tokens/s and step latency, block 32, context
#       512 and 2048, default model and the 0.5B shape (gpucheck bench),
#       beside PyTorch eager and torch.compile on the same files and sampler
#       (torch_bench.py).
# Results go to $OUT (summary.txt has one line per result).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/unmask-gpu-out}"
mkdir -p "$OUT"
bin=gpu/device/bin
sum="$OUT/summary.txt"
: > "$sum"
fails=0
# The whole run stops starting steps at BUDGET seconds (the device call's
# limit is 600 s); each step's own limit is cut to what is left.
BUDGET="${BUDGET:-540}"
step() { # step NAME SECONDS CMD...: runs CMD with a timeout, logs to $OUT/NAME.txt
	local name=$1 secs=$2
	shift 2
	local left=$((BUDGET - SECONDS))
	if [ "$left" -lt 20 ]; then
		echo "-- $name: skipped, out of time" | tee -a "$sum"
		fails=$((fails + 1))
		return 0
	fi
	[ "$secs" -le "$left" ] || secs=$left
	local t0=$SECONDS
	timeout "$secs" "$@" > "$OUT/$name.txt" 2>&1
	local rc=$?
	echo "-- $name: rc=$rc in $((SECONDS - t0))s" | tee -a "$sum"
	grep -E '^(parity|infill [^c]|bench|torch-|loaded|--- FAIL|FAIL|ok|PASS)' "$OUT/$name.txt" | tee -a "$sum"
	[ $rc -eq 0 ] || fails=$((fails + 1))
	return 0
}

{
	date -u
	nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
	ldconfig -p | grep -E 'libcuda\.so|libcublas\.so' || true
	python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
} > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt" | tee -a "$sum"
# PyTorch's wheels bring their own cuBLAS; when the system has none, let
# our engine find it by soname too.
if ! ldconfig -p | grep -q 'libcublas\.so\.1[123]'; then
	tl=$(python3 -c 'import os, nvidia.cublas as c; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null || true)
	[ -n "$tl" ] && export LD_LIBRARY_PATH="$tl:${LD_LIBRARY_PATH:-}" && echo "cuBLAS from PyTorch's wheel: $tl" | tee -a "$sum"
fi

# The engine binary starts on the GPU and ends cleanly when its client goes.
step engine-start 30 "$bin/unmask-cuda" engine --device cuda --model model/testdata/tiny-qwen2 --listen stdio < /dev/null
step engine-start-default 30 "$bin/unmask-cuda" engine --device cuda --listen stdio < /dev/null

# (a) kernels against the reference, backend against the CPU engine.
step gpu-test 120 bash -c "cd gpu && ../$bin/gpu.test -test.v -test.count=1"

r05=/tmp/unmask-random-0.5b
[ -f "$r05/model.safetensors" ] || step make-random 90 python3 gpu/device/make_random.py "$r05" --shape qwen2.5-0.5b
step parity-0.5b-f32 90 "$bin/gpucheck" parity --model "$r05" --ctx 512 --weights f32 --matmul kernel --tol 2e-3
step parity-0.5b-bf16 60 "$bin/gpucheck" parity --model "$r05" --ctx 512 --weights bf16 --matmul auto --tol 0.15

# (b) end to end on the default model.
def=model/defaultmodel
if [ -f "$def/config.json" ] && [ -f "$def/tokenizer.json" ]; then
	step infill-default-f32 60 "$bin/gpucheck" infill --model "$def" --weights f32 --matmul kernel
	step infill-default-bf16 45 "$bin/gpucheck" infill --model "$def" --weights bf16 --matmul auto
	step bench-default 45 "$bin/gpucheck" bench --model "$def" --ctx 512,2048
	step torch-default 60 python3 gpu/device/torch_bench.py "$def" --ctx 512,2048
else
	echo "-- (b) skipped: no default model at $def" | tee -a "$sum"
fi

# (c) the benchmark on the 0.5B shape.
step bench-0.5b 60 "$bin/gpucheck" bench --model "$r05" --ctx 512,2048
step bench-0.5b-kernel 45 "$bin/gpucheck" bench --model "$r05" --ctx 512,2048 --matmul kernel
step bench-0.5b-cublas 45 "$bin/gpucheck" bench --model "$r05" --ctx 512,2048 --matmul cublas
step torch-eager-0.5b 60 python3 gpu/device/torch_bench.py "$r05" --ctx 512,2048
step torch-compile-0.5b 150 python3 gpu/device/torch_bench.py "$r05" --ctx 512,2048 --compile

echo "== $fails step(s) failed" | tee -a "$sum"
exit $((fails > 0))
