//! Stack exhaustion: the guest reports every level it reaches, so the depth
//! is known even when the run dies.

use crate::host;
use core::hint::black_box;

/// Recursion whose frames hold only scalars. In wasm they live in wasm
/// locals, so the engine's own call stack (`max_wasm_stack`) runs out first.
/// The volatile read after the call keeps the call out of tail position:
/// without it LLVM turns the recursion into a loop (accumulator tail-call
/// elimination) and the stack never grows.
#[inline(never)]
fn descend_small(depth: i64, limit: i64) -> i64 {
    host::progress(depth);
    if depth >= limit {
        return depth;
    }
    descend_small(depth + 1, limit) ^ salt()
}

static SALT: i64 = 0x5A17;

/// A value the compiler must load after the recursive call returns.
fn salt() -> i64 {
    unsafe { core::ptr::read_volatile(&SALT) }
}

/// Recursion with a 256-byte addressable buffer per frame. In wasm Rust puts
/// such a buffer on its shadow stack in linear memory (1 MiB below the data),
/// which runs out long before the engine's call stack.
#[inline(never)]
fn descend_large(depth: i64, limit: i64) -> i64 {
    let mut frame = [0u8; 256];
    frame[0] = depth as u8;
    black_box(&mut frame);
    host::progress(depth);
    if depth >= limit {
        return frame[0] as i64;
    }
    (descend_large(depth + 1, limit) ^ salt()) + frame[1] as i64
}

pub fn recursion_small_frames(_: i64) -> i64 {
    descend_small(1, i64::MAX)
}

pub fn recursion_large_frames(_: i64) -> i64 {
    descend_large(1, i64::MAX)
}

/// A recursion that ends at depth `limit`: deep, but finite.
pub fn bounded_deep_recursion(limit: i64) -> i64 {
    descend_small(1, limit)
}
