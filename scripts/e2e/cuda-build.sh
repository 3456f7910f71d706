#!/usr/bin/env bash
# The cuda build compiles, vets and links (against the libcuda.so stub of
# CUDA 11.8 that scripts/setup/50-cuda.sh unpacked), without a GPU. Also
# checks the two promises around it: the binary needs only libcuda.so.1 of
# CUDA (cuBLAS is loaded at run time), and the default build does not link
# gorgonia.org/cu (whose init exits the process without a GPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}/cuda"
if [ ! -f "$deps/usr/include/cuda.h" ]; then
	if [ "${UNMASK_REQUIRE_TESTDEPS:-0}" = 1 ]; then
		echo "cuda-build: $deps/usr/include/cuda.h missing (scripts/setup/50-cuda.sh)" >&2
		exit 1
	fi
	echo "cuda-build: skipped, no CUDA headers (run scripts/setup/50-cuda.sh)"
	exit 0
fi
if go list -deps ./cmd/unmask | grep -q '^gorgonia.org/cu'; then
	echo "cuda-build: the default build of cmd/unmask links gorgonia.org/cu" >&2
	exit 1
fi
export CGO_CFLAGS="-I$deps/usr/include ${CGO_CFLAGS:-}"
export CGO_LDFLAGS="-L$deps/usr/lib/x86_64-linux-gnu/stubs ${CGO_LDFLAGS:-}"
go vet -tags cuda ./gpu/... ./cmd/unmask ./engine/...
go build -tags cuda ./gpu/... ./cmd/unmask ./engine/...
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -tags cuda -o "$tmp/unmask-cuda" ./cmd/unmask
go test -c -tags cuda -o "$tmp/gpu.test" ./gpu
go build -tags cuda -o "$tmp/gpucheck" ./gpu/device/gpucheck
for b in "$tmp"/*; do
	needed=$(readelf -d "$b" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
	if [ "$needed" != "libc.so.6 libcuda.so.1 " ]; then
		echo "cuda-build: $(basename "$b") needs: $needed (want libcuda.so.1 and libc only)" >&2
		exit 1
	fi
done
echo "cuda-build: ok (binaries need only libcuda.so.1 and libc)"
