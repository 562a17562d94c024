#!/usr/bin/env bash
# Regenerates the committed Swift code for proto/*.proto. Needs protoc (apt-get install
# protobuf-compiler) and protoc-gen-swift built from swift-protobuf 1.x
# (swift build -c release --product protoc-gen-swift in a swift-protobuf checkout), on PATH or in
# PROTOC_GEN_SWIFT. CI does not run this: the generated file is committed, since building the
# plugin takes about ten minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal \
    --swift_out=Sources/MonolithTraining/Observability -I proto proto/tensorboard_event.proto
echo "wrote Sources/MonolithTraining/Observability/tensorboard_event.pb.swift"
