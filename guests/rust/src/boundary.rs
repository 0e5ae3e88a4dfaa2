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
/// attempt fails (-1). With `stray_seconds` > 0 it first leaves a process
/// that escapes with `setsid` and sleeps that long: what a hostile guest
/// would leave to outlive the fork server that should have cleaned it up.
pub fn kill_parent(stray_seconds: i64) -> i64 {
    #[cfg(unix)]
    {
        if stray_seconds > 0 {
            let _ = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("setsid sleep {stray_seconds} >/dev/null 2>&1 &"))
                .status();
        }
        let parent = std::os::unix::process::parent_id().to_string();
        match std::process::Command::new("kill").args(["-KILL", &parent]).status() {
            Ok(status) if status.success() => 0,
            _ => -1,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = stray_seconds;
        -1
    }
}
