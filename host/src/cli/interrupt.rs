//! Interrupts: SIGINT, SIGTERM or SIGHUP stop every worker, then faultbox
//! exits with 128 + the signal.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that interrupted faultbox, or 0.
pub(super) static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// Whether `signal` was ignored when faultbox started.
fn inherited_ignore(signal: libc::c_int) -> bool {
    // SAFETY: a query only (no new action); `old` is ours to fill.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// SIGINT, SIGTERM or SIGHUP stop every worker (and through the fork
/// server, every native child and stray) before faultbox exits with the
/// conventional 128 + signal. The signals are blocked in every thread and
/// taken by one thread with sigwait. The mask is inherited across exec, so
/// workers unblock them first thing (`worker::server::serve`).
pub(super) fn stop_workers_on_interrupt() {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // A signal the parent chose to ignore (nohup, a service manager)
        // stays ignored: taking it would override that choice.
        if !inherited_ignore(s as libc::c_int) {
            set.add(s);
        }
    }
    if set.thread_block().is_err() {
        return;
    }
    let _ = std::thread::Builder::new().name("fb-interrupt".into()).spawn(move || {
        if let Ok(signal) = set.wait() {
            INTERRUPTED.store(signal as i32, Ordering::SeqCst);
            crate::worker::client::stop_all_workers();
            crate::language::build::remove_scratch();
            super::remove_pending_exports();
            eprintln!("faultbox: interrupted by {}; every worker and child was stopped", signal.as_str());
            std::process::exit(128 + signal as i32);
        }
    });
}

