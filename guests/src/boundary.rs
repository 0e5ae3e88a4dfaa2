//! The host boundary: the guest calls into host code that misbehaves. This
//! is where a sandbox ends: the host's own native code is not protected by it.

use crate::host::{self, HostOp};

pub fn host_error(_: i64) -> i64 {
    host::host_call(HostOp::Fail)
}

pub fn host_panic(_: i64) -> i64 {
    host::host_call(HostOp::Panic)
}

pub fn host_stack_overflow(_: i64) -> i64 {
    host::host_call(HostOp::StackOverflow)
}

pub fn host_bad_pointer(_: i64) -> i64 {
    host::host_call(HostOp::BadPointer)
}

/// A hostile guest: it kills the process that started it. Natively that is
/// faultbox's fork server; in wasm there are no processes to signal and the
/// attempt fails (-1).
pub fn kill_parent(_: i64) -> i64 {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id().to_string();
        match std::process::Command::new("kill").args(["-KILL", &parent]).status() {
            Ok(status) if status.success() => 0,
            _ => -1,
        }
    }
    #[cfg(not(unix))]
    {
        -1
    }
}
