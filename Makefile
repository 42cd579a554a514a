# runner: build, test and measure. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
DEPS_DIR ?= $(CURDIR)/.deps
export DEPS_DIR
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
ORT_LIB := $(shell DEPS_DIR=$(DEPS_DIR) scripts/deps.sh ort-path)
LDFLAGS := -X main.version=$(VERSION) -X main.defaultORTLibrary=$(ORT_LIB)
# Tests find the library and the reference tools through these.
export RUNNER_TEST_ORT_LIB := $(ORT_LIB)
export RUNNER_TEST_NODE_DIR := $(DEPS_DIR)/node
export RUNNER_TEST_FIXTURES := $(DEPS_DIR)/fixtures
export RUNNER_TEST_TOKENIZERS := $(DEPS_DIR)/tokenizers

.PHONY: help deps build run test test-short bench fixtures tokenizer-reference fuzz-tokenizer lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## fetch ONNX Runtime (npm onnxruntime-node), the reference tools and real tokenizers, pinned and checked
	scripts/deps.sh all

build: ## build bin/runner
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/runner ./cmd/runner

run: deps build ## set up and start the server (ready for `runner pull`)
	bin/runner serve

fixtures: deps ## generate the test and benchmark models (cached under .deps/fixtures)
	$(GO) run ./internal/fixtures/genfixtures -out $(RUNNER_TEST_FIXTURES) -tokenizers $(RUNNER_TEST_TOKENIZERS)

tokenizer-reference: deps ## regenerate the tokenizer reference data from the Rust tokenizers library
	node tokenizer/testdata/genref.mjs $(RUNNER_TEST_TOKENIZERS) tokenizer/testdata/reference

fuzz-tokenizer: deps ## fuzz the tokenizer (FUZZTIME, default 3m, per target)
	$(GO) test ./tokenizer -run '^$$' -fuzz FuzzEncodeDecode -fuzztime $(or $(FUZZTIME),3m)
	$(GO) test ./tokenizer -run '^$$' -fuzz FuzzFastPatterns -fuzztime $(or $(FUZZTIME),3m)

test: deps fixtures ## set up and run every test
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...

test-short: ## run the tests that need no ONNX Runtime or fixtures
	$(GO) test -short ./...

bench: deps fixtures build ## compare runner with its peers on the same models; prints ratios
	RUNNER_BIN=$(CURDIR)/bin/runner $(GO) run ./internal/bench/runbench $(SUITES)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build outputs (make clean-deps also drops fetched dependencies)
	rm -rf bin

clean-deps:
	rm -rf $(DEPS_DIR)
