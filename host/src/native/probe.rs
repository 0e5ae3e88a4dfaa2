//! What the platform charges for a trap, before any runtime is involved:
//! a trap instruction (`ud2` → SIGILL) and a fault on an unmapped page
//! (→ SIGSEGV), each caught by a handler that skips the instruction. A
//! signals-based wasm trap pays at least this; `faultbox bench` reports it
//! next to the wasm cycles. Runs in the fork server (no wasmtime there).

/// Round trips in nanoseconds, one sample per trap: (ud2 → SIGILL,
/// unmapped load → SIGSEGV).
#[cfg(target_arch = "x86_64")]
pub fn trap_round_trips(iterations: u32) -> Option<(Vec<u64>, Vec<u64>)> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    use std::time::Instant;

    // Both probed instructions are 2 bytes long: resume after them.
    extern "C" fn skip(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes the interrupted context as a ucontext_t.
        unsafe { (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] += 2 };
    }
    let action = SigAction::new(SigHandler::SigAction(skip), SaFlags::SA_SIGINFO, SigSet::empty());
    // SAFETY: the handler only edits the context it is given; the previous
    // handlers are restored below.
    let old_ill = unsafe { sigaction(Signal::SIGILL, &action) }.ok()?;
    let old_segv = unsafe { sigaction(Signal::SIGSEGV, &action) }.ok()?;
    let n = iterations.max(1);
    let mut ud2 = Vec::with_capacity(n as usize);
    let mut segv = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        // SAFETY: traps into `skip`, which resumes after it.
        unsafe { std::arch::asm!("ud2") };
        ud2.push(t.elapsed().as_nanos() as u64);
        let t = Instant::now();
        // SAFETY: faults into `skip`, which resumes after it (8b 08).
        unsafe { std::arch::asm!("mov ecx, dword ptr [rax]", in("rax") 0usize, out("ecx") _) };
        segv.push(t.elapsed().as_nanos() as u64);
    }
    // SAFETY: restoring what was there.
    unsafe {
        let _ = sigaction(Signal::SIGILL, &old_ill);
        let _ = sigaction(Signal::SIGSEGV, &old_segv);
    }
    Some((ud2, segv))
}

#[cfg(not(target_arch = "x86_64"))]
pub fn trap_round_trips(_: u32) -> Option<(Vec<u64>, Vec<u64>)> {
    None
}
