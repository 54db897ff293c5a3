#!/bin/sh
# Regenerates the TypeScript for proto/ into OUTDIR (default src/gen). `make proto` and the test
# that checks the committed output is current both run this, so they cannot drift apart.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/src/gen"}
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-ts_proto="$here/node_modules/.bin/protoc-gen-ts_proto" \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,forceLong=bigint,outputJsonMethods=false \
  -I "$here/proto" \
  "$here/proto/runtime/v1/api.proto"
