#!/usr/bin/env bash
# Encode throughput on one thread, ours beside the references, same file,
# same run: the Go tokenizer (go test -bench, GOMAXPROCS=1), the Rust
# original (Python `tokenizers`, RAYON_NUM_THREADS=1) and the npm port
# (@huggingface/tokenizers), each on the Qwen3 tokenizer. Repeats the round
# REPEATS times (the machine may be shared: compare within a round).
#
# usage: tokenizer/scripts/bench.sh [FILE] [REPEATS]
#   FILE defaults to net/http/server.go of the Go toolchain (~4,000 lines).
#   Needs scripts/setup/10-tokenizer.sh run first; makes a venv with the
#   pinned reference at $UNMASK_TOKENIZER_VENV (default /tmp/unmask-tok-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}"
file="${1:-$(go env GOROOT)/src/net/http/server.go}"
repeats="${2:-3}"
tok="$deps/tokenizer-qwen3/tokenizer.json"
npm_lib="$deps/tokenizer-corpus/hf-tokenizers/package/dist/tokenizers.mjs"
venv="${UNMASK_TOKENIZER_VENV:-/tmp/unmask-tok-venv}"
[ -e "$tok" ] && [ -e "$npm_lib" ] || bash scripts/setup/10-tokenizer.sh
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q -r tokenizer/testdata/requirements.txt
fi
file=$(realpath "$file")
echo "file: $file ($(wc -l <"$file") lines, $(wc -c <"$file") bytes)"
echo "go: $(go version | cut -d' ' -f3-), reference: tokenizers $("$venv/bin/python" -c 'import tokenizers; print(tokenizers.__version__)'), npm @huggingface/tokenizers 0.2.0, node $(node --version)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -c -o /tmp/unmask-tokenizer.test ./tokenizer
printf '\n%-6s %-26s %10s %10s %13s %13s\n' round implementation "warm MB/s" "cold MB/s" "warm cpu-MB/s" "cold cpu-MB/s"
row() { printf '%-6s %-26s %10s %10s %13s %13s\n' "$@"; }
for r in $(seq "$repeats"); do
	out=$(cd tokenizer && UNMASK_BENCH_FILE="$file" UNMASK_TESTDEPS="$deps" /tmp/unmask-tokenizer.test \
		-test.run '^$' -test.bench 'Encode/(warm|cold)$' -test.benchtime 2s -test.cpu 1)
	metric() { awk -v b="$1" -v u="$2" '$0 ~ b {for (i=1;i<NF;i++) if ($(i+1)==u) print $i}' <<<"$out"; }
	row "$r" "unmask (Go)" "$(metric Encode/warm MB/s)" "$(metric Encode/cold MB/s)" "$(metric Encode/warm cpu-MB/s)" "$(metric Encode/cold cpu-MB/s)"
	read -r _ w _ c _ wc _ cc _ < <(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$venv/bin/python" tokenizer/scripts/bench_ref.py "$tok" "$file" 2)
	row "$r" "tokenizers (Rust, Python)" "$w" "$c" "$wc" "$cc"
	read -r _ w _ c _ wc _ cc _ < <(node tokenizer/scripts/bench_ref.mjs "$npm_lib" "$tok" "$file" 2)
	row "$r" "@huggingface/tokenizers" "$w" "$c" "$wc" "$cc"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f /tmp/unmask-tokenizer.test
