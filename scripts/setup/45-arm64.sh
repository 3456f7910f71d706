#!/usr/bin/env bash
# arm64 checks without arm64 hardware (scripts/e2e/arm64.sh): qemu's static
# aarch64 user-mode emulator runs the model package's tests cross-compiled
# for arm64 (the NEON kernels against the plain reference), and the aarch64
# GNU assembler holds the kernels' hand-encoded instructions to its own
# (model/neon_encoding_test.go). Both come from Debian bookworm's main
# component as packages that are downloaded, not installed: only
# qemu-aarch64-static and the assembler/objdump are unpacked into
# $UNMASK_TESTDEPS/arm64. Skipped when present.
set -euo pipefail
deps="${UNMASK_TESTDEPS:?}/arm64"
if [ -x "$deps/usr/bin/qemu-aarch64-static" ] && [ -x "$deps/usr/bin/aarch64-linux-gnu-as" ]; then
	echo "arm64 tools present in $deps"
	exit 0
fi
if ! command -v apt-get > /dev/null; then
	echo "45-arm64.sh: needs apt-get to fetch qemu-user-static and binutils-aarch64-linux-gnu; the arm64 checks will be skipped" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# qemu-user-static is a 63 MB download (every target); 5 MB of it is kept.
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User="$(id -un)" qemu-user-static binutils-aarch64-linux-gnu)
mkdir -p "$deps"
dpkg-deb --fsys-tarfile "$tmp"/qemu-user-static_*.deb | tar -x -C "$deps" ./usr/bin/qemu-aarch64-static
dpkg-deb --fsys-tarfile "$tmp"/binutils-aarch64-linux-gnu_*.deb | tar -x -C "$deps" \
	./usr/bin/aarch64-linux-gnu-as ./usr/bin/aarch64-linux-gnu-objdump
for f in "$tmp"/*.deb; do
	echo "unpacked from $(basename "$f")"
done
"$deps/usr/bin/qemu-aarch64-static" --version | head -1
"$deps/usr/bin/aarch64-linux-gnu-as" --version | head -1
