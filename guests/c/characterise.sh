#!/usr/bin/env bash
# Rebuilds the C guest and characterises every scenario natively and in
# wasm (wasmtime's Python bindings, pinned to 48.0.0 like the Rust host's
# wasmtime, in a venv under /tmp). Writes characterisation.md beside this
# script and the full facts to $OUT/characterisation.json.
#   ENGINES="cranelift explicit pulley" (default: all three)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export OUT="${OUT:-/tmp/faultbox-c}"
venv="${VENV:-/tmp/faultbox-c-venv}"
"$here/build.sh"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import wasmtime' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'wasmtime==48.0.0'
fi
engines=()
for e in ${ENGINES:-cranelift explicit pulley}; do engines+=(--engine "$e"); done
"$venv/bin/python" "$here/characterise.py" \
  --driver "$OUT/driver" --lib "$OUT/libguest.so" \
  --wasm "$OUT/guest.wasm" --wasm-stack-first "$OUT/guest-stack-first.wasm" \
  "${engines[@]}" --json "$OUT/characterisation.json" > "$here/characterisation.md"
echo "wrote $here/characterisation.md and $OUT/characterisation.json"
