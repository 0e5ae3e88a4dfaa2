#!/usr/bin/env bash
# Builds the Go guest's artifacts into $OUT (default /tmp/faultbox-go):
#   guest        native, cgo on (the cgo scenarios included)
#   guest-nocgo  native, CGO_ENABLED=0 (no cgo scenarios; see README: deadlock)
#   guest.wasm   GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared (a WASI reactor)
# and prints how long each build took.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/faultbox-go}"
mkdir -p "$out"
cd "$here"
go version
timed() {
  local what="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  printf '%-12s %6.2f s  %s\n' "$what" "$(echo "$t1 - $t0" | bc)" "$*"
}
timed native     env CGO_ENABLED=1 go build -trimpath -o "$out/guest" .
timed native0    env CGO_ENABLED=0 go build -trimpath -o "$out/guest-nocgo" .
timed wasm       env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$out/guest.wasm" .
ls -l "$out/guest" "$out/guest-nocgo" "$out/guest.wasm"
