#!/usr/bin/env bash
# Builds the C guest's artifacts into $OUT (default /tmp/faultbox-c):
#   guest.wasm              wasm32-wasi reactor (clang + wasi-libc), clang 14's
#                           default layout: data first, then the shadow stack
#   guest-stack-first.wasm  the same with -Wl,--stack-first (README: why)
#   libguest.so             native shared library (cc), dlopen'd by the host
#   driver                  native driver used only by characterise.py
# and prints the toolchain versions and how long each build took.
#   CC (default cc) builds the native pair; CLANG (default clang) the wasm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/faultbox-c}"
cc="${CC:-cc}"
clang="${CLANG:-clang}"
mkdir -p "$out"
cd "$here"

# Debian's clang finds wasi-libc by its multiarch paths
# (/usr/include/wasm32-wasi, /usr/lib/wasm32-wasi); other distributions and
# wasi-sdk use a sysroot: set WASI_SYSROOT to pass --sysroot.
sysroot_flag=()
if [ -n "${WASI_SYSROOT:-}" ]; then sysroot_flag=(--sysroot="$WASI_SYSROOT"); fi

missing=()
command -v "$cc" >/dev/null || missing+=("$cc: apt-get install -y gcc")
command -v "$clang" >/dev/null || missing+=("clang: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32")
if command -v "$clang" >/dev/null; then
  command -v wasm-ld >/dev/null || command -v wasm-ld-14 >/dev/null || missing+=("wasm-ld: apt-get install -y lld")
  if [ -z "${WASI_SYSROOT:-}" ] && [ ! -f /usr/lib/wasm32-wasi/libc.a ]; then
    missing+=("wasi-libc (/usr/lib/wasm32-wasi/libc.a): apt-get install -y wasi-libc")
  elif [ -n "${WASI_SYSROOT:-}" ] && [ ! -f "$WASI_SYSROOT/include/stdio.h" ] && [ ! -f "$WASI_SYSROOT/include/wasm32-wasi/stdio.h" ]; then
    missing+=("a wasi sysroot at WASI_SYSROOT=$WASI_SYSROOT (no include/stdio.h there)")
  fi
  rt="$("$clang" --target=wasm32-wasi -print-libgcc-file-name 2>/dev/null || true)"
  [ -n "$rt" ] && [ -f "$rt" ] || missing+=("compiler-rt for wasm32 ($rt): apt-get install -y libclang-rt-14-dev-wasm32")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 3
fi

"$cc" --version | head -1
"$clang" --version | head -1
if command -v dpkg-query >/dev/null; then
  dpkg-query -W -f='${Package} ${Version}\n' wasi-libc libclang-rt-14-dev-wasm32 lld 2>/dev/null || true
fi

timed() {
  local what="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  printf '%-18s %6.2f s  %s\n' "$what" "$(echo "$t1 - $t0" | bc)" "$*"
}

WASM_FLAGS=(--target=wasm32-wasi "${sysroot_flag[@]}" -mexec-model=reactor -O2 -Wall -Wextra
            -Wl,-z,stack-size=1048576 -mmutable-globals -Wl,--export=__stack_pointer)
timed wasm              "$clang" "${WASM_FLAGS[@]}" -o "$out/guest.wasm" scenarios.c
timed wasm-stack-first  "$clang" "${WASM_FLAGS[@]}" -Wl,--stack-first -o "$out/guest-stack-first.wasm" scenarios.c
timed native            "$cc" -O2 -Wall -Wextra -fPIC -shared -o "$out/libguest.so" scenarios.c
timed driver            "$cc" -O2 -Wall -Wextra -o "$out/driver" driver.c -ldl
ls -l "$out/guest.wasm" "$out/guest-stack-first.wasm" "$out/libguest.so" "$out/driver"
