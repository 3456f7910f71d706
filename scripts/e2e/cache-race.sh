#!/usr/bin/env bash
# The cache's concurrency tests under the race detector, and a short fuzz
# run of each fuzz target against its reference model (go test runs only
# the seed corpus). About 30 seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -count=1 -race -run 'Concurrent|Sessions|Speculator|Fuzz' ./cache
go test -run '^$' -fuzz '^FuzzSpans$' -fuzztime 5s ./cache
go test -run '^$' -fuzz '^FuzzSessions$' -fuzztime 5s ./cache
