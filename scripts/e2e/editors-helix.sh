#!/usr/bin/env bash
# End-to-end test of the Helix configuration (editors/helix/languages.toml) in
# a real Helix 25.01 (from scripts/setup/40-editors.sh) against the real
# server, in a tmux terminal: type into a Go file, open the completion menu
# (C-x), find unmask's item in the screen (capture-pane), accept it, save,
# and check the file: it must be the typed file with exactly what
# `unmask complete` prints for that position inserted at the cursor. The
# server lists 3 answers (menuAlternatives): the others must be in the menu
# too, and the first answer must be the one Helix selects first.
# Set UNMASK_SCREEN_DIR to keep the screen with the menu (ANSI text).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
deps="${UNMASK_TESTDEPS:-$repo/.testdeps}"
. scripts/e2e/lib/editors.sh
hx="$deps/editors/bin/hx"
missing=
[ -x "$hx" ] || missing="Helix ($hx)"
command -v tmux >/dev/null || missing="${missing:+$missing, }tmux"
[ -z "$missing" ] || e2e_missing editors-helix "$missing"

e2e_server

work=$(mktemp -d)
tm=(tmux -L "unmask-e2e-$$" -f /dev/null)
cleanup() {
	"${tm[@]}" kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "editors-helix: FAIL: $*" >&2
	echo "--- screen" >&2
	"${tm[@]}" capture-pane -p -t hx >&2 2>/dev/null || true
	echo "--- helix log (last 30 lines)" >&2
	tail -30 "$work/helix.log" >&2 2>/dev/null || true
	exit 1
}
now_ms() { date +%s%3N; }

cp -r editors/testdata/gofile "$work/proj"
# The shipped snippet, as a user installs it; `unmask` is found on PATH.
mkdir -p "$work/config/helix" "$work/pathbin"
cp editors/helix/languages.toml "$work/config/helix/languages.toml"
# Server settings go in the server's `config` table (initializationOptions).
# menuAlternatives: the menu lists several completions, the server's first
# answer first (the shipped snippet's commented example).
cfg="maxTokens = $max_tokens, timeBudgetMs = $budget_ms, warmStart = false, menuAlternatives = 3${model:+, model = \"$model\"}"
sed -i "s|^args = \\[\"serve\"\\]\$|&\nconfig = { $cfg }|" "$work/config/helix/languages.toml"
grep -q "^config = { maxTokens" "$work/config/helix/languages.toml" || fail "could not set the server's config in languages.toml"
ln -s "$bin" "$work/pathbin/unmask"
# The menu opens only on C-x: an automatic completion while typing (after
# "." or a pause) would be cached, and typing through it is answered with
# its rest from the span cache, not the cold decode `unmask complete` runs.
printf '[editor]\nauto-completion = false\n' >"$work/config/helix/config.toml"

# What the menu must offer: the server's completion after typing a text at
# the end of the loop body's line (editors/testdata/pick.sh picks a text the
# model completes).
read -r line col < <(editors/testdata/pick.sh "$work" "${complete[@]}") || fail "no text to type"
typed=$(cat "$work/typed.txt")
want=$(cat "$work/want.txt")
label=$(head -1 "$work/want.txt")
echo "editors-helix: after typing $(printf %q "$typed"), unmask complete request.go:$line:$col = $(printf %q "$want")"
# The other answers the menu must list beside it: `unmask complete
# --alternatives 3` on the same text. alt is the first line of the first
# one that can be told apart on the screen (not blank, not inside the first
# answer's label); none with this model leaves only the first item checked.
awk -v n="$line" -v t="$typed" 'NR == n { $0 = "\t\t" t } { print }' editors/testdata/gofile/main.go >"$work/alts.go"
"${complete[@]}" --alternatives 3 "$work/alts.go:$line:$col" >"$work/alts.txt" || fail "unmask complete --alternatives 3 failed"
rm "$work/alts.go"
alt=
while IFS= read -r first; do
	first=${first%%$'\r'}
	if [ -n "${first//[[:space:]]/}" ] && [[ "$label" != *"$first"* ]]; then
		alt=${first:0:30}
		break
	fi
done < <(awk '/^--- alternative [0-9]+$/ { getline; print }' "$work/alts.txt")
echo "editors-helix: unmask complete --alternatives 3: $(grep -c '^--- alternative' "$work/alts.txt") more; the menu must also list $(printf %q "${alt:-(none to tell apart)}")"

"${tm[@]}" new-session -d -s hx -x 90 -y 24 \
	"cd '$work/proj' && env PATH='$work/pathbin:$PATH' XDG_CONFIG_HOME='$work/config' TERM=xterm-256color '$hx' --log '$work/helix.log' main.go"

# screen_has waits up to $2 seconds for the fixed string $1 on the screen.
screen_has() {
	local deadline=$(($(now_ms) + $2 * 1000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		"${tm[@]}" capture-pane -p -t hx 2>/dev/null | grep -qF -- "$1" && return 0
		sleep 0.01
	done
	return 1
}
# label_seen counts the label's occurrences on the screen; the file itself
# may hold the label (a completion such as `string`), so the menu is open
# when there are more than with the menu closed ($label_base).
# (A label that is not on the screen counts 0: grep's no-match status must
# not end the script under pipefail.)
on_screen() { "${tm[@]}" capture-pane -p -t hx 2>/dev/null | { grep -oF -- "$1" || true; } | wc -l; }
label_seen() { on_screen "$label_part"; }
menu_shows() {
	local deadline=$(($(now_ms) + $1 * 1000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		[ "$(label_seen)" -gt "$label_base" ] && return 0
		sleep 0.01
	done
	return 1
}
keys() { "${tm[@]}" send-keys -t hx "$@"; }
# leave_menu closes the menu and returns to insert mode at the same place
# (Helix keeps the cursor where it was on Escape, so `i`, not `a`). The
# pause keeps Helix from reading Escape and the next key as one Alt chord.
leave_menu() {
	keys Escape
	sleep 0.15
	keys i
	sleep 0.15
}

screen_has "NOR" 20 || fail "Helix did not start"
keys ":$line" Enter
keys A
screen_has "INS" 5 || fail "no insert mode"
keys -l "$typed"
screen_has "$typed" 5 || fail "typed text not on screen"

# The first request may wait for the model to load: ask until the menu shows
# the item (the server's language server must also have initialized).
label_part=${label:0:30}
label_base=$(label_seen)
alt_base=0
[ -z "$alt" ] || alt_base=$(on_screen "$alt")
found=
deadline=$(($(now_ms) + 60000))
while [ "$(now_ms)" -lt "$deadline" ]; do
	t0=$(now_ms)
	keys C-x
	if menu_shows 10; then
		found=$(($(now_ms) - t0))
		break
	fi
	leave_menu
done
[ -n "$found" ] || fail "unmask's item $(printf %q "$label_part") is not in the completion menu"
echo "editors-helix: menu shows unmask's item $(printf %q "$label") ($found ms after C-x, first request)"
if [ -n "$alt" ]; then
	# The items come in one answer: the alternative is listed with the first.
	[ "$(on_screen "$alt")" -gt "$alt_base" ] || fail "the menu lists the first answer but not the alternative $(printf %q "$alt")"
	echo "editors-helix: the menu also lists the alternative $(printf %q "$alt")"
fi
if [ -n "${UNMASK_SCREEN_DIR:-}" ]; then
	mkdir -p "$UNMASK_SCREEN_DIR"
	"${tm[@]}" capture-pane -p -e -t hx >"$UNMASK_SCREEN_DIR/helix.ansi"
fi

# Keystroke to menu, now that the model is loaded: close the menu, ask again.
times=()
for _ in 1 2 3 4 5; do
	leave_menu
	[ "$(label_seen)" -gt "$label_base" ] && fail "the menu did not close"
	t0=$(now_ms)
	keys C-x
	menu_shows 10 || fail "the menu did not come back"
	times+=($(($(now_ms) - t0)))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "editors-helix: C-x -> unmask item in the menu, ms (sorted, n=5): $sorted"

# Accept: select the item (C-n) and confirm (Enter); save; quit.
keys C-n
sleep 0.2
keys Enter
sleep 0.2
keys Escape
sleep 0.15
keys ":w" Enter
screen_has "written" 5 || fail "the file was not written"
keys ":q!" Enter

{
	head -n $((line - 1)) editors/testdata/gofile/main.go
	printf '\t\t%s' "$typed"
	cat "$work/want.txt"
	printf '\n'
	tail -n +$((line + 1)) editors/testdata/gofile/main.go
} >"$work/want.go"
if ! diff -u "$work/want.go" "$work/proj/main.go" >"$work/diff"; then
	cat "$work/diff" >&2
	fail "the saved file is not the typed file with unmask's completion"
fi
echo "editors-helix: accepted; the saved file holds unmask's completion"
echo "editors-helix: PASS"
