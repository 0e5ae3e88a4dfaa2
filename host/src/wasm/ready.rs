//! The guest's first progress report in a call, told to the worker: when a
//! signal is to be injected, the worker tells the supervisor that the
//! guest is ready, and the supervisor sends it (`protocol::Message::Ready`).
//!
//! A latch rather than a field of each engine's store: every backend's
//! `fb.progress` calls [`progressed`], and only the call that armed it
//! pays more than one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static ARMED: AtomicBool = AtomicBool::new(false);
static TELL: OnceLock<fn()> = OnceLock::new();

/// Arms (or disarms) the latch for the call about to run; `tell` is what
/// the first progress report calls.
pub fn arm(on: bool, tell: fn()) {
    let _ = TELL.set(tell);
    ARMED.store(on, Ordering::SeqCst);
}

/// The guest reported progress: tells once per armed call.
pub fn progressed() {
    if ARMED.load(Ordering::Relaxed) && ARMED.swap(false, Ordering::SeqCst) {
        if let Some(tell) = TELL.get() {
            tell();
        }
    }
}
