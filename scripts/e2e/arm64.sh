#!/usr/bin/env bash
# arm64 without arm64 hardware: the model package's tests, cross-compiled,
# run under qemu's user-mode emulator on the NEON kernels (the default
# there) and on the plain Go kernel (UNMASK_KERNEL=go), and the NEON
# kernels' hand-encoded instructions are held to the aarch64 GNU
# assembler's. Emulation says nothing of speed: these check correctness.
# Tools: scripts/setup/45-arm64.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}/arm64/usr/bin"
if [ ! -x "$deps/qemu-aarch64-static" ] || [ ! -x "$deps/aarch64-linux-gnu-as" ]; then
	if [ "${UNMASK_REQUIRE_TESTDEPS:-0}" = 1 ]; then
		echo "arm64: $deps lacks qemu-aarch64-static or aarch64-linux-gnu-as (scripts/setup/45-arm64.sh)" >&2
		exit 1
	fi
	echo "arm64: skipped, no qemu/aarch64 binutils (run scripts/setup/45-arm64.sh)"
	exit 0
fi
out=$(PATH="$deps:$PATH" go test -count=1 -v -run '^TestNEONEncodingsMatchGNUAs$' ./model/)
if ! grep -q -- '--- PASS: TestNEONEncodingsMatchGNUAs' <<<"$out"; then
	echo "$out" >&2
	echo "arm64: the NEON encoding test did not pass" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOARCH=arm64 go vet ./model/
GOARCH=arm64 CGO_ENABLED=0 go test -c -o "$tmp/model-arm64.test" ./model/
for kernel in "" go; do
	start=$(date +%s)
	# The tests read testdata/ relative to the package folder.
	if ! (cd model && UNMASK_KERNEL="$kernel" "$deps/qemu-aarch64-static" "$tmp/model-arm64.test" -test.count=1 > "$tmp/log" 2>&1); then
		tail -40 "$tmp/log" >&2
		echo "arm64: model tests failed under qemu (UNMASK_KERNEL=${kernel:-default})" >&2
		exit 1
	fi
	echo "arm64: model tests pass under qemu, kernel ${kernel:-neon (default)}, $(($(date +%s) - start)) s"
done
