#!/usr/bin/env bash
# Picks what the end-to-end tests type: the first of a few texts that, typed
# at the end of the loop body's line of gofile/main.go (line 16, two tabs of
# indent), gets a completion whose first line is not blank, so that any model
# (a weak one too) gives the tests something to see. Compares nothing itself.
#
# usage: pick.sh WORKDIR UNMASK_COMPLETE_CMD...
# writes WORKDIR/typed.txt (the text to type) and WORKDIR/want.txt (what
# `unmask complete` inserts after it, raw); prints "LINE COL" (1-based,
# COL in characters, the cursor after typing).
set -euo pipefail
work=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
line=16
# No brackets or quotes: editors close them, and the buffer would no
# longer be the file `unmask complete` saw.
for typed in 'fmt.' 'fmt.Print' 's := ' 'greet' 'n = '; do
	awk -v n=$line -v t="$typed" 'NR == n { $0 = "\t\t" t } { print }' "$here/gofile/main.go" >"$work/request.go"
	col=$((2 + ${#typed} + 1))
	if ! "$@" "$work/request.go:$line:$col" >"$work/want.txt" 2>"$work/complete.err"; then
		cat "$work/complete.err" >&2
		echo "pick.sh: unmask complete request.go:$line:$col failed" >&2
		exit 1
	fi
	if head -1 "$work/want.txt" | grep -q '[^[:space:]]'; then
		printf '%s' "$typed" >"$work/typed.txt"
		rm "$work/request.go"
		echo "$line $col"
		exit 0
	fi
	echo "pick.sh: no completion (or a blank first line) after typing $(printf %q "$typed"); trying the next text" >&2
done
echo "pick.sh: the server completes none of the texts the tests type" >&2
exit 1
