//! The health check: called on the *same* execution context after a fault to
//! learn whether it still works.

use core::hint::black_box;

/// What [`health`] returns when the context is sound.
pub const HEALTH_OK: i64 = 0x600D_F00D;

/// Returned when the canary in static memory no longer holds its pattern.
pub const HEALTH_CANARY_DAMAGED: i64 = 0xBAD_CA;
/// Returned when a fresh heap allocation does not hold what was written.
pub const HEALTH_HEAP_BROKEN: i64 = 0xBAD_EA;

const PATTERN: [u64; 4] = [
    0xFA17_B0C5_CA4A_12E5,
    0x0123_4567_89AB_CDEF,
    0xFEDC_BA98_7654_3210,
    0x5A5A_A5A5_5A5A_A5A5,
];

/// A pattern in the guest's static data. In wasm it lives in linear memory,
/// where a stray write can reach it; natively in read-only data.
pub static CANARY: [u64; 4] = PATTERN;

fn canary_intact() -> bool {
    // Volatile reads: the compiler must not fold the static's known value.
    let base = CANARY.as_ptr();
    PATTERN
        .iter()
        .enumerate()
        .all(|(i, &want)| unsafe { base.add(i).read_volatile() } == want)
}

/// Exercises the stack (an addressable frame: in wasm, Rust's shadow stack
/// in linear memory), the allocator and the canary.
pub fn health() -> i64 {
    if !canary_intact() {
        return HEALTH_CANARY_DAMAGED;
    }
    let mut frame = [0u8; 64];
    for (i, b) in frame.iter_mut().enumerate() {
        *b = i as u8;
    }
    black_box(&mut frame);
    let heap: Vec<u64> = (0..64).map(|i| i * 3).collect();
    let heap = black_box(heap);
    let sum: u64 = heap.iter().sum::<u64>() + frame.iter().map(|&b| b as u64).sum::<u64>();
    if sum != 3 * 63 * 64 / 2 + 63 * 64 / 2 {
        return HEALTH_HEAP_BROKEN;
    }
    HEALTH_OK
}
