#!/usr/bin/env bash
# Builds, on this (GPU-less) machine, what gpu/device/run.sh runs on a lent
# GPU machine, which has no Go: the cuda build of unmask, gpucheck and the
# gpu package's test binary, into gpu/device/bin (git-ignored; the device
# call carries it). Needs the CUDA 11.8 headers (scripts/setup/50-cuda.sh or
# apt-get install nvidia-cuda-dev); links against the driver stub.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The system's CUDA headers (nvidia-cuda-dev), else the ones
# scripts/setup/50-cuda.sh unpacked.
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}/cuda"
if [ -f /usr/include/cuda.h ] && [ -f /usr/lib/x86_64-linux-gnu/stubs/libcuda.so ]; then
	export CGO_LDFLAGS="-L/usr/lib/x86_64-linux-gnu/stubs ${CGO_LDFLAGS:-}"
elif [ -f "$deps/usr/include/cuda.h" ]; then
	export CGO_CFLAGS="-I$deps/usr/include ${CGO_CFLAGS:-}"
	export CGO_LDFLAGS="-L$deps/usr/lib/x86_64-linux-gnu/stubs ${CGO_LDFLAGS:-}"
else
	echo "build.sh: no CUDA headers: run scripts/setup/50-cuda.sh or apt-get install nvidia-cuda-dev" >&2
	exit 1
fi
out=gpu/device/bin
mkdir -p "$out"
# Stripped: the device call carries at most 64 MiB.
go build -tags cuda -ldflags="-s -w" -o "$out/unmask-cuda" ./cmd/unmask
go build -tags cuda -ldflags="-s -w" -o "$out/gpucheck" ./gpu/device/gpucheck
go test -c -tags cuda -ldflags="-s -w" -o "$out/gpu.test" ./gpu
for b in "$out"/*; do
	echo "$b: $(stat -c %s "$b") bytes, needs: $(readelf -d "$b" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
done
