//! The host functions a guest can call (`fb.host_call`), implemented once
//! and served by both execution models: the wasm worker as an import, the
//! native child as a hook. Some of them misbehave on purpose: they stand
//! for buggy host code behind a plugin API.

use faultbox_guests::host::HostOp;
use std::hint::black_box;

/// The error a failing host function returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOpError(pub String);

impl std::fmt::Display for HostOpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostOpError {}

/// snake_case name for reports.
pub fn op_name(op: HostOp) -> &'static str {
    match op {
        HostOp::Echo => "echo",
        HostOp::Fail => "fail",
        HostOp::Panic => "panic",
        HostOp::StackOverflow => "stack_overflow",
        HostOp::BadPointer => "bad_pointer",
    }
}

/// Whether the operation can take down the process that runs it: the
/// worker announces these before running them.
pub fn may_kill_host(op: HostOp) -> bool {
    matches!(op, HostOp::StackOverflow | HostOp::BadPointer | HostOp::Panic)
}

/// Runs the host side of `op`.
pub fn perform(op: HostOp) -> Result<i64, HostOpError> {
    match op {
        HostOp::Echo => Ok(op as i64),
        HostOp::Fail => Err(HostOpError("host function refused the call: permission denied for this plugin".into())),
        HostOp::Panic => panic!("host function panicked while serving the guest"),
        HostOp::StackOverflow => Ok(recurse_in_host(0) as i64),
        HostOp::BadPointer => {
            let p = black_box(0xDEAD_BEE0usize) as *const u64;
            // SAFETY: deliberately invalid: host code dereferencing a bad pointer.
            Ok(unsafe { p.read_volatile() } as i64)
        }
    }
}

/// Unbounded recursion in host code, with a frame big enough to reach the
/// guard page quickly.
#[allow(unconditional_recursion)]
#[inline(never)]
fn recurse_in_host(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    recurse_in_host(depth + 1).wrapping_add(frame[7])
}
