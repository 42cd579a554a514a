#!/usr/bin/env bash
# deps.sh: fetch what runner needs at build and test time, pinned and checked.
#
#   scripts/deps.sh ort     the ONNX Runtime shared library, from the npm package
#                           onnxruntime-node (npm pack + tar; never npm install,
#                           whose postinstall reaches for hosts we do not need)
#   scripts/deps.sh node    the reference tools (transformers.js, tokenizers.js,
#                           jinja) that tests and benchmarks compare against
#
# Everything lands under DEPS_DIR (default .deps) and is reused: a second run
# downloads nothing.
set -euo pipefail

ORT_VERSION=1.30.0
ORT_TGZ_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_LIB_SHA256_x64=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_LIB_SHA256_arm64=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76

root=$(cd "$(dirname "$0")/.." && pwd)
deps=${DEPS_DIR:-$root/.deps}
mkdir -p "$deps"

log() { printf 'deps: %s\n' "$*" >&2; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

ort_arch() {
	case "$(uname -m)" in
	x86_64 | amd64) echo x64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) log "no ONNX Runtime build for $(uname -m) in onnxruntime-node"; exit 1 ;;
	esac
}

# ort_lib_path prints where the library lives once fetched.
ort_lib_path() { echo "$deps/onnxruntime/$ORT_VERSION/linux-$(ort_arch)/libonnxruntime.so.1"; }

fetch_ort() {
	[ "$(uname -s)" = Linux ] || { log "make deps fetches ONNX Runtime for Linux only; set RUNNER_ORT_LIB to your own build"; exit 1; }
	local arch lib want
	arch=$(ort_arch)
	lib=$(ort_lib_path)
	want=ORT_LIB_SHA256_$arch
	want=${!want}
	if [ -f "$lib" ] && [ "$(sha256_of "$lib")" = "$want" ]; then
		log "ONNX Runtime $ORT_VERSION already at $lib"
		return
	fi
	local work
	work=$(mktemp -d "$deps/.ort.XXXXXX")
	trap 'rm -rf "$work"' RETURN
	log "fetching onnxruntime-node@$ORT_VERSION"
	(cd "$work" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
	local tgz="$work/onnxruntime-node-$ORT_VERSION.tgz"
	if [ "$(sha256_of "$tgz")" != "$ORT_TGZ_SHA256" ]; then
		log "onnxruntime-node-$ORT_VERSION.tgz has sha256 $(sha256_of "$tgz"), want $ORT_TGZ_SHA256"
		exit 1
	fi
	local member="package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
	tar -xzf "$tgz" -C "$work" "$member"
	if [ "$(sha256_of "$work/$member")" != "$want" ]; then
		log "$member has sha256 $(sha256_of "$work/$member"), want $want"
		exit 1
	fi
	mkdir -p "$(dirname "$lib")"
	mv "$work/$member" "$lib.tmp"
	mv "$lib.tmp" "$lib"
	log "ONNX Runtime $ORT_VERSION installed at $lib"
}

fetch_node() {
	local dir="$deps/node"
	mkdir -p "$dir"
	if [ -f "$dir/package-lock.json" ] && cmp -s "$dir/package-lock.json" "$root/tools/node/package-lock.json" &&
		[ -d "$dir/node_modules/@huggingface/transformers" ]; then
		log "reference tools already installed in $dir"
		return
	fi
	cp "$root/tools/node/package.json" "$root/tools/node/package-lock.json" "$dir/"
	log "installing reference tools (transformers.js, tokenizers.js, jinja) into $dir"
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

case "${1:-all}" in
ort) fetch_ort ;;
ort-path) ort_lib_path ;;
node) fetch_node ;;
all) fetch_ort; fetch_node ;;
*) log "unknown target $1 (want ort, ort-path, node or all)"; exit 2 ;;
esac
