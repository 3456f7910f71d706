#!/usr/bin/env bash
# CUDA headers for the cuda build check (scripts/e2e/cuda-build.sh): the
# driver API header cuda.h and the libcuda.so link stub, taken from Debian
# bookworm's nvidia-cuda-dev (CUDA 11.8, contrib non-free) into
# $UNMASK_TESTDEPS/cuda. Nothing is installed system-wide: the package is
# downloaded and only those two files are unpacked, so no driver libraries
# land on the machine. Pinned version; skipped when present.
set -euo pipefail
deps="${UNMASK_TESTDEPS:?}/cuda"
version="11.8.89~11.8.0-5~deb12u1"
if [ -f "$deps/usr/include/cuda.h" ] && [ -f "$deps/usr/lib/x86_64-linux-gnu/stubs/libcuda.so" ]; then
	echo "cuda headers present in $deps"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
	echo "50-cuda.sh: needs root and apt-get to fetch nvidia-cuda-dev; the cuda build check will be skipped" >&2
	exit 0
fi
# contrib non-free of bookworm only (never a newer suite).
policy=$(apt-cache policy nvidia-cuda-dev 2> /dev/null || true)
if [[ "$policy" != *"$version"* ]]; then
	cat > /etc/apt/sources.list.d/unmask-cuda.sources << 'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt-get update -qq
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 774 MB download; only 900 KB of it is kept.
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "nvidia-cuda-dev=$version")
mkdir -p "$deps"
dpkg-deb --fsys-tarfile "$tmp"/nvidia-cuda-dev_*.deb |
	tar -x -C "$deps" ./usr/include/cuda.h ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so
echo "cuda headers in $deps: $(du -sh "$deps" | cut -f1)"
