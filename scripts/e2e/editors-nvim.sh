#!/usr/bin/env bash
# End-to-end test of the Neovim plugin (editors/nvim) in a real Neovim 0.10
# (from scripts/setup/40-editors.sh) against the real server: Neovim runs
# with its terminal UI in tmux, editing a Go file with the plugin loaded;
# editors/nvim/test/e2e.lua types into it over Neovim's RPC API (nvim_input,
# as keystrokes), waits for ghost text, checks the extmark, accepts it with
# <Tab> and checks the buffer and the saved file. The ghost text must be what
# `unmask complete` prints for the same buffer and position. Set
# UNMASK_SCREEN_DIR to keep the screen with the ghost text (ANSI text).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
deps="${UNMASK_TESTDEPS:-$repo/.testdeps}"
. scripts/e2e/lib/editors.sh
nvim="$deps/editors/bin/nvim"
missing=
[ -x "$nvim" ] || missing="Neovim ($nvim)"
command -v tmux >/dev/null || missing="${missing:+$missing, }tmux"
[ -z "$missing" ] || e2e_missing editors-nvim "$missing"

"$nvim" --clean -l editors/nvim/test/unit.lua

e2e_server

work=$(mktemp -d)
tm=(tmux -L "unmask-e2e-$$" -f /dev/null)
nvim_pid=
cleanup() {
	"${tm[@]}" kill-server 2>/dev/null || true
	# The headless editor outlives its remote UI; the server exits with it
	# (its stdin closes).
	[ -z "$nvim_pid" ] || kill "$nvim_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cp -r editors/testdata/gofile "$work/proj"
# A text the model completes, to type at the end of the loop body's line.
editors/testdata/pick.sh "$work" "${complete[@]}" >/dev/null ||
	{ echo "editors-nvim: FAIL: no text to type" >&2; exit 1; }
typed=$(cat "$work/typed.txt")
cat >"$work/init.lua" <<LUA
vim.opt.runtimepath:prepend('$repo/editors/nvim')
vim.opt.swapfile = false
vim.lsp.set_log_level('info')
require('unmask').setup({ cmd = { '$bin', 'serve' }, settings = { maxTokens = $max_tokens, timeBudgetMs = $budget_ms, warmStart = false, model = '$model' ~= '' and '$model' or nil } })
LUA
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
sock="$work/nvim.sock"
# The editor runs headless and its terminal UI attaches with --remote-ui:
# started through trixie's loader, Neovim cannot re-execute itself as its
# own --embed child, which the plain TUI does.
(cd "$work/proj" && exec "$nvim" --headless --clean -u "$work/init.lua" --listen "$sock" main.go) >"$work/nvim.out" 2>&1 &
nvim_pid=$!
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
"${tm[@]}" new-session -d -s nv -x 90 -y 24 "env TERM=xterm-256color '$nvim' --remote-ui --server '$sock'"
if [ -n "${UNMASK_SCREEN_DIR:-}" ]; then
	mkdir -p "$UNMASK_SCREEN_DIR"
	export UNMASK_CAPTURE="${tm[*]} capture-pane -p -e -t nv > '$UNMASK_SCREEN_DIR/nvim.ansi'"
fi

if ! "$nvim" --clean -l editors/nvim/test/e2e.lua "$sock" "$work/proj/main.go" "$work" "$typed"; then
	echo "--- Neovim's LSP log (last 40 lines)" >&2
	tail -40 "$work/state/nvim/lsp.log" >&2 || true
	exit 1
fi

# The same request through `unmask complete`: the ghost text must be exactly
# what the server inserts there.
pos=$(cat "$work/request.pos")
cp "$work/request.go" "$work/proj/request.go"
if ! "${complete[@]}" "$work/proj/request.go:$pos" >"$work/want.txt" 2>"$work/complete.err"; then
	echo "editors-nvim: FAIL: unmask complete request.go:$pos failed:" >&2
	cat "$work/complete.err" >&2
	exit 1
fi
if ! cmp -s "$work/ghost.txt" "$work/want.txt"; then
	echo "editors-nvim: FAIL: ghost text $(printf %q "$(cat "$work/ghost.txt")") but unmask complete prints $(printf %q "$(cat "$work/want.txt")")" >&2
	"${complete[@]}" --json "$work/proj/request.go:$pos" >&2 || true
	exit 1
fi
echo "editors-nvim: ghost text equals unmask complete request.go:$pos"
echo "editors-nvim: PASS"
