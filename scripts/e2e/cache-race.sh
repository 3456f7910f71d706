#!/usr/bin/env bash
# The cache's concurrency tests under the race detector, and a short fuzz
# run of each fuzz target against its reference model (go test runs only
# the seed corpus). Counted in executions, not seconds: a time-bounded run can
# end mid-minimization and report "context deadline exceeded" as a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -count=1 -race -run 'Concurrent|Sessions|Speculator|Fuzz' ./cache
go test -run '^$' -fuzz '^FuzzSpans$' -fuzztime 40000x ./cache
go test -run '^$' -fuzz '^FuzzSessions$' -fuzztime 40000x ./cache
