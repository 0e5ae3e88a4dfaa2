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
