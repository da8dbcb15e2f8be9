#!/usr/bin/env bash
# Regenerate the committed protobuf modules of the USP schema:
#
#     bash src/doorstep/usp/proto/regenerate.sh
#
# It compiles usp_record.proto and usp_msg.proto with the protoc bundled in
# grpcio-tools into *_pb2.py (runtime code) and *_pb2.pyi (mypy-protobuf stubs, so
# mypy --strict sees typed messages), then records the SHA-256 of each .proto in
# SOURCES.sha256; a test fails when a .proto changes without a regeneration.
# The generator tools live in their own throwaway venv (USP_PROTOC_VENV), never in
# the project's: only the protobuf runtime is a dependency of Doorstep.
set -euo pipefail

GRPCIO_TOOLS="grpcio-tools==1.85.1"    # bundles protoc 35.1 (gencode 7.35.1)
MYPY_PROTOBUF="mypy-protobuf==5.1.0"

here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../../.." && pwd)"
venv="${USP_PROTOC_VENV:-${TMPDIR:-/tmp}/doorstep-usp-protoc}"

if [ ! -x "$venv/bin/protoc-gen-mypy" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$GRPCIO_TOOLS" "$MYPY_PROTOBUF"
fi

cd "$src"
"$venv/bin/python" -m grpc_tools.protoc \
  --proto_path=. \
  --plugin=protoc-gen-mypy="$venv/bin/protoc-gen-mypy" \
  --python_out=. \
  --mypy_out=. \
  doorstep/usp/proto/usp_record.proto \
  doorstep/usp/proto/usp_msg.proto

cd "$here"
sha256sum usp_record.proto usp_msg.proto > SOURCES.sha256
echo "regenerated: $(ls ./*_pb2.py ./*_pb2.pyi | tr '\n' ' ')"
