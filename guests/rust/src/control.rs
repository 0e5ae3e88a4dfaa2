//! Control: aborts, trap instructions and panics, plus the one scenario that
//! must complete normally everywhere.

use core::hint::black_box;

/// The control scenario: allocation, formatting and arithmetic, no fault.
pub fn clean_run(arg: i64) -> i64 {
    let words: Vec<String> = (0..100).map(|i| format!("word{i}")).collect();
    let total: usize = black_box(&words).iter().map(|w| w.len()).sum();
    total as i64 + arg
}

pub fn explicit_abort(_: i64) -> i64 {
    std::process::abort()
}

/// The architecture's trap instruction: wasm `unreachable`, x86 `ud2`.
pub fn trap_instruction(_: i64) -> i64 {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("ud2", options(noreturn))
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("udf #0", options(noreturn))
    }
}

pub fn unwinding_panic(arg: i64) -> i64 {
    if black_box(true) {
        panic!("guest panicked on purpose (arg {arg})");
    }
    arg
}

/// Rust's analogue of a fault inside cgo: a panic cannot unwind out of an
/// `extern "C"` function, so it aborts the process before any
/// `catch_unwind` can see it.
pub fn extern_c_panic(arg: i64) -> i64 {
    extern "C" fn callback(x: i64) -> i64 {
        if black_box(x) >= 0 {
            panic!("panic inside an extern \"C\" function");
        }
        x
    }
    callback(black_box(arg.abs()))
}

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("second panic, raised by a destructor while unwinding from the first");
    }
}

pub fn panic_while_panicking(_: i64) -> i64 {
    let _guard = PanicsOnDrop;
    if black_box(true) {
        panic!("first panic");
    }
    0
}
