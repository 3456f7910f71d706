# Shared by the editors-*.sh end-to-end tests; sourced from the repository
# root after $deps is set.

# e2e_missing NAME WHAT: the test cannot run without WHAT. A skip, unless
# UNMASK_REQUIRE_TESTDEPS=1 (CI), where it fails.
e2e_missing() {
	if [ "${UNMASK_REQUIRE_TESTDEPS:-}" = 1 ]; then
		echo "$1: FAIL: missing $2 (run scripts/setup/40-editors.sh)" >&2
		exit 1
	fi
	echo "$1: SKIP: missing $2 (run scripts/setup/40-editors.sh)"
	exit 0
}

# e2e_server sets bin (the server: $UNMASK_BIN, or built into $deps/bin),
# model ($UNMASK_MODEL: a checkpoint folder instead of the model embedded in
# the binary; the editor passes it to the server through its settings),
# max_tokens, budget_ms and complete (the `unmask complete` command whose
# output the editor's answer must equal).
#
# A short completion: the server's decode time budget (500 ms) must not cut
# it off, in the editor or in `unmask complete`, or the two would differ. The
# editor passes maxTokens through its settings, so the comparison also proves
# that the settings reach the server; the editor's server also gets a long
# budget (timeBudgetMs), since it shares the CPU with the editor, and
# warmStart false: a completion warm-started from the draft of one that
# typing interrupted may differ from the cold decode `unmask complete` runs
# (measured: a CI run of the Helix test failed on it).
e2e_server() {
	mkdir -p "$deps/bin"
	bin="${UNMASK_BIN:-$deps/bin/unmask}"
	[ -n "${UNMASK_BIN:-}" ] || go build -o "$bin" ./cmd/unmask
	model="${UNMASK_MODEL:-}"
	max_tokens=16
	budget_ms=10000
	complete=("$bin" complete --max-tokens $max_tokens ${model:+--model "$model"})
}
