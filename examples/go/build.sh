#!/usr/bin/env bash
# Builds the Go example offline: stubs from proto/ with protoc,
# protoc-gen-go and protoc-gen-go-grpc, compiled in GOPATH mode against
# the Go gRPC that Debian packages under /usr/share/gocode (no module
# proxy needed). On Debian or Ubuntu:
#
#   apt-get install golang-go protobuf-compiler protoc-gen-go \
#       protoc-gen-go-grpc golang-google-grpc-dev golang-google-protobuf-dev \
#       golang-github-golang-protobuf-1-5-dev
#   examples/go/build.sh /tmp/departmental_system
#
# golang-github-golang-protobuf-1-5-dev must be named: apt otherwise
# satisfies grpc's dependency with 1.3, which builds but panics on the
# first message (Debian's grpc-go 1.33 encodes through golang/protobuf).
#
# With the module proxy at hand, `buf generate` and `go run .` in this
# directory do the same (docs/integration.md §8).
set -euo pipefail

out="${1:?usage: build.sh OUTPUT_BINARY}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto"
gocode="${HOTLINE_GOCODE:-/usr/share/gocode}"
pkg=hotline-mesh/examples/go

if [ ! -f "$gocode/src/github.com/golang/protobuf/proto/registry.go" ]; then
  echo "build.sh: needs golang/protobuf 1.4 or later in $gocode (golang-github-golang-protobuf-1-5-dev)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/$pkg/gen"
cp "$here/main.go" "$work/src/$pkg/"

# The protos carry no go_package: map each to the stubs' package here,
# as buf.gen.yaml's managed mode does.
files=()
opts=()
for f in "$proto"/hotline/v1/*.proto; do
  rel="hotline/v1/$(basename "$f")"
  files+=("$rel")
  opts+=("--go_opt=M$rel=$pkg/gen/hotline/v1;hotlinev1" "--go-grpc_opt=M$rel=$pkg/gen/hotline/v1;hotlinev1")
done
protoc -I "$proto" \
  --go_out="$work/src/$pkg/gen" --go_opt=paths=source_relative \
  --go-grpc_out="$work/src/$pkg/gen" --go-grpc_opt=paths=source_relative \
  "${opts[@]}" "${files[@]}"

cd "$work/src/$pkg"
GO111MODULE=off GOPATH="$work:$gocode" GOPROXY=off GOFLAGS= go build -o "$work/departmental_system" .
# Moved into place whole: another build may be running the last one.
mkdir -p "$(dirname "$out")"
mv -f "$work/departmental_system" "$out"
