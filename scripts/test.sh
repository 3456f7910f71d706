#!/usr/bin/env bash
# Installs what the tests need and runs them. The README's test command and
# .ci/run both call this script, so CI proves the README.
#
# Setup steps live in scripts/setup/*.sh (one per area, run in name order);
# they download only from package registries (Go module proxy, npm, PyPI,
# Debian) into $UNMASK_TESTDEPS. End-to-end steps that drive real programs
# (editors, the built server) live in scripts/e2e/*.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export UNMASK_TESTDEPS="${UNMASK_TESTDEPS:-$root/.testdeps}"
mkdir -p "$UNMASK_TESTDEPS"
# Tests that need a downloaded dependency fail instead of skipping when it is
# missing: a green run must mean the test ran.
export UNMASK_REQUIRE_TESTDEPS=1

echo "== setup"
for s in scripts/setup/*.sh; do
	[ -e "$s" ] || continue
	echo "-- $s"
	bash "$s"
done

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 ./...

echo "== e2e"
for s in scripts/e2e/*.sh; do
	[ -e "$s" ] || continue
	echo "-- $s"
	bash "$s"
done
echo "== all tests passed"
