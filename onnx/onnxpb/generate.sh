#!/usr/bin/env bash
# generate.sh: regenerate onnx.pb.go from onnx.proto.
#
# Needs protoc (Debian: protobuf-compiler) and
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
# onnx.proto is ONNX 1.12's schema (IR version 8), unmodified
# (sha256 a96f50c0fe1ff9180b6025843d4f7efcf53b024c83db55a36cd24a1e44345182).
set -euo pipefail
cd "$(dirname "$0")"
protoc --go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=runner/onnx/onnxpb onnx.proto
