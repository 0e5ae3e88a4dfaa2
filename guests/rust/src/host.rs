//! The guest's only way out: progress reports, host calls and output.
//!
//! In wasm these are imports from module `fb`; natively they are hooks the
//! child process installs before it runs a scenario ([`install`]). Both ends
//! implement the same contract, so scenario code never needs a `cfg`.

/// Host operations a guest can ask for (the host-boundary scenarios).
/// The numbering is part of the wasm ABI (`fb.host_call(op)`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostOp {
    /// Returns `op` back: a healthy host call.
    Echo = 0,
    /// The host function fails with an error.
    Fail = 1,
    /// The host function panics.
    Panic = 2,
    /// The host function recurses until its own native stack is exhausted.
    StackOverflow = 3,
    /// The host function dereferences a wild pointer in host code.
    BadPointer = 4,
}

impl HostOp {
    pub fn from_i32(op: i32) -> Option<HostOp> {
        Some(match op {
            0 => HostOp::Echo,
            1 => HostOp::Fail,
            2 => HostOp::Panic,
            3 => HostOp::StackOverflow,
            4 => HostOp::BadPointer,
            _ => return None,
        })
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "fb")]
    unsafe extern "C" {
        #[link_name = "progress"]
        fn fb_progress(value: i64);
        #[link_name = "panic_message"]
        fn fb_panic_message(ptr: *const u8, len: usize);
        #[link_name = "host_call"]
        fn fb_host_call(op: i32) -> i64;
        #[link_name = "write"]
        fn fb_write(ptr: *const u8, len: usize);
    }

    pub fn progress(value: i64) {
        unsafe { fb_progress(value) }
    }

    pub fn host_call(op: super::HostOp) -> i64 {
        unsafe { fb_host_call(op as i32) }
    }

    pub fn write(bytes: &[u8]) {
        unsafe { fb_write(bytes.as_ptr(), bytes.len()) }
    }

    /// With `panic = "abort"` a wasm panic ends in `unreachable`; the hook
    /// first hands the message to the host so the trap can be told apart
    /// from a plain abort. Exported as `fb_init`, which the worker calls
    /// once after instantiation, before it takes the state snapshot that
    /// the reuse check compares against.
    pub fn init() {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            unsafe { fb_panic_message(message.as_ptr(), message.len()) }
        }));
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::sync::OnceLock;

    /// The native host's implementation of the guest's imports.
    #[derive(Clone, Copy)]
    pub struct Hooks {
        pub progress: fn(i64),
        pub host_call: fn(super::HostOp) -> i64,
        pub write: fn(&[u8]),
    }

    static HOOKS: OnceLock<Hooks> = OnceLock::new();

    /// Installs the native hooks; the first installation wins.
    pub fn install(hooks: Hooks) {
        let _ = HOOKS.set(hooks);
    }

    pub fn progress(value: i64) {
        if let Some(h) = HOOKS.get() {
            (h.progress)(value)
        }
    }

    pub fn host_call(op: super::HostOp) -> i64 {
        match HOOKS.get() {
            Some(h) => (h.host_call)(op),
            None => panic!("no host is installed to serve host call {op:?}"),
        }
    }

    pub fn write(bytes: &[u8]) {
        match HOOKS.get() {
            Some(h) => (h.write)(bytes),
            None => {
                use std::io::Write;
                let _ = std::io::stdout().write_all(bytes);
            }
        }
    }
}

pub use imp::*;
