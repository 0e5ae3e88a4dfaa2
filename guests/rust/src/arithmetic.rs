//! Arithmetic faults. Rust checks integer division in safe code (a panic);
//! `assert_unchecked` removes that check, so the division instruction itself
//! meets the bad operands: wasm's `i64.div_s` traps, x86's `idiv` raises
//! SIGFPE.

use core::hint::{assert_unchecked, black_box};

pub fn checked_div_zero(_: i64) -> i64 {
    black_box(42i64) / black_box(0i64)
}

pub fn hardware_div_zero(_: i64) -> i64 {
    let (a, d) = (black_box(42i64), black_box(0i64));
    // SAFETY: deliberately false: the scenario is the hardware trap.
    unsafe { assert_unchecked(d != 0) };
    a / d
}

pub fn int_min_div_neg_one(_: i64) -> i64 {
    let (a, d) = (black_box(i64::MIN), black_box(-1i64));
    // SAFETY: deliberately false: the scenario is the hardware trap. (One
    // simple fact per assumption: LLVM drops the overflow check only when
    // it is told plainly that the divisor is not -1.)
    unsafe {
        assert_unchecked(d != 0);
        assert_unchecked(d != -1);
    }
    a / d
}

/// `as` saturates; `to_int_unchecked` is the raw conversion instruction:
/// wasm's `i32.trunc_f64_s` traps, x86's `cvttsd2si` returns 0x8000_0000.
pub fn float_to_int_unchecked(_: i64) -> i64 {
    let x = black_box(1.0e20f64);
    // SAFETY: deliberately out of range: the scenario is the conversion.
    unsafe { x.to_int_unchecked::<i32>() as i64 }
}
