#!/usr/bin/env bash
# Installs the node LSP client the language server's integration test drives
# the built server with (cmd/unmask/node_test.go, scripts/e2e/lsp-client.js):
# vscode-languageserver-protocol 3.17.5 and vscode-jsonrpc 8.2.0 from npm
# (the versions VS Code's client library uses; their own dependencies are
# pinned exactly by their package.json) into $UNMASK_TESTDEPS/node-lsp.
# Idempotent: a complete install is not fetched again.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}"
dest="$deps/node-lsp"
stamp="vscode-languageserver-protocol@3.17.5 vscode-jsonrpc@8.2.0"
if [ -e "$dest/.done" ] && [ "$(cat "$dest/.done")" = "$stamp" ]; then
	exit 0
fi
rm -rf "$dest" && mkdir -p "$dest"
echo '{"name":"unmask-lsp-testdeps","private":true}' >"$dest/package.json"
# shellcheck disable=SC2086
(cd "$dest" && npm install --silent --no-audit --no-fund --ignore-scripts --save-exact $stamp)
node -e 'require(process.argv[1] + "/node_modules/vscode-languageserver-protocol/node")' "$dest"
echo "$stamp" >"$dest/.done"
