#!/usr/bin/env bash
# End-to-end test of the Neovim plugin (editors/nvim) in a real Neovim 0.10
# (from scripts/setup/40-editors.sh) against the real server: a headless
# Neovim edits a Go file with the plugin loaded; editors/nvim/test/e2e.lua
# types into it over Neovim's RPC API, waits for ghost text, checks the
# extmark, accepts it with <Tab> and checks the buffer and the saved file.
# The ghost text must be what `unmask complete` prints for the same buffer
# and position.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
deps="${UNMASK_TESTDEPS:-$repo/.testdeps}"
nvim="$deps/editors/bin/nvim"
if [ ! -x "$nvim" ]; then
	if [ "${UNMASK_REQUIRE_TESTDEPS:-}" = 1 ]; then
		echo "editors-nvim: FAIL: Neovim is missing at $nvim (run scripts/setup/40-editors.sh)" >&2
		exit 1
	fi
	echo "editors-nvim: SKIP: Neovim is missing at $nvim (run scripts/setup/40-editors.sh)"
	exit 0
fi

mkdir -p "$deps/bin"
bin="${UNMASK_BIN:-$deps/bin/unmask}"
[ -n "${UNMASK_BIN:-}" ] || go build -o "$bin" ./cmd/unmask

work=$(mktemp -d)
nvim_pid=
cleanup() {
	[ -n "$nvim_pid" ] && kill "$nvim_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cp -r editors/testdata/gofile "$work/proj"
cat >"$work/init.lua" <<LUA
vim.opt.runtimepath:prepend('$repo/editors/nvim')
vim.opt.swapfile = false
vim.lsp.set_log_level('info')
require('unmask').setup({ cmd = { '$bin', 'serve' } })
LUA
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
sock="$work/nvim.sock"
(cd "$work/proj" && exec "$nvim" --headless --clean -u "$work/init.lua" --listen "$sock" main.go) >"$work/nvim.out" 2>&1 &
nvim_pid=$!

if ! "$nvim" --clean -l editors/nvim/test/e2e.lua "$sock" "$work/proj/main.go" "$work"; then
	echo "--- Neovim's LSP log (last 40 lines)" >&2
	tail -40 "$work/state/nvim/lsp.log" >&2 || true
	exit 1
fi
wait "$nvim_pid" 2>/dev/null || true
nvim_pid=

# The same request through `unmask complete`: the ghost text must be exactly
# what the server inserts there.
pos=$(cat "$work/request.pos")
cp "$work/request.go" "$work/proj/request.go"
if ! want=$("$bin" complete "$work/proj/request.go:$pos" 2>"$work/complete.err"); then
	echo "editors-nvim: FAIL: unmask complete request.go:$pos failed:" >&2
	cat "$work/complete.err" >&2
	exit 1
fi
got=$(cat "$work/ghost.txt")
if [ "$got" != "$want" ]; then
	echo "editors-nvim: FAIL: ghost text $(printf %q "$got") but unmask complete prints $(printf %q "$want")" >&2
	exit 1
fi
echo "editors-nvim: ghost text equals unmask complete request.go:$pos"
echo "editors-nvim: PASS"
