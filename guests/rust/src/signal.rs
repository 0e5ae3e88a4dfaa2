//! A signal sent from outside: the guest says it is ready and then only
//! burns CPU, so what happens next is decided by whoever handles the
//! signal, not by the guest.

use crate::host;
use core::hint::black_box;

/// Reports progress 1 (ready: the supervisor sends the signal now), then
/// loops forever: no syscall, no sleep, no allocation. `signal` is the
/// signal the manifest injects; the Rust guest installs no handler of its
/// own, so natively what decides is the disposition the forked child
/// inherited (std's SIGSEGV/SIGBUS handler, which runs on its alternate
/// stack and only reports a stack overflow when the address lies in the
/// thread's guard page; the kernel's default action otherwise), and in
/// wasm the worker process's handlers.
pub fn await_signal(signal: i64) -> i64 {
    black_box(signal);
    host::progress(1);
    // Empty on purpose (an endless `loop {}` is defined in Rust): compiled
    // to wasm it touches no linear memory, where `black_box` would spill to
    // the shadow stack, so a signal never finds the pc at one of the
    // engine's memory trap sites (wasmtime's Cranelift handler matches the
    // pc alone, and would take a sent SIGSEGV there for a wild access).
    #[allow(clippy::empty_loop)]
    loop {}
}
