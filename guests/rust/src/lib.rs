//! faultbox guest scenarios: one source, compiled twice.
//!
//! Every scenario is a plain Rust function `fn(i64) -> i64` registered under a
//! stable name in [`ENTRIES`]. The host's build script compiles this crate to
//! `wasm32-unknown-unknown` (cdylib, `panic = "abort"`), where each entry is
//! exported as `fb_<name>`; the native execution model links the same crate as
//! an rlib and calls the function directly through the Rust ABI, so
//! `catch_unwind` sees unwinding panics.
//!
//! Exported symbols are namespaced (`fb_*`) on purpose: an unprefixed export
//! such as `abort` would replace libc's `abort` in a native link.
//!
//! The crate has no dependencies. In wasm the only way out of the sandbox
//! is [`host`]: the module imports nothing else, and std on
//! `wasm32-unknown-unknown` has no processes, files or network. Natively a
//! scenario is ordinary Rust in a forked process and can use all of std:
//! three scenarios spawn commands (`kill_parent` runs `sh` and `kill`,
//! `stray_processes` runs `sleep` and `sh`, `busy_descendant` runs `sh`),
//! attempts that fail in wasm and return -1 there.

pub mod host;

mod arithmetic;
mod boundary;
mod control;
mod health;
mod memory;
mod resource;
mod stack;

pub use health::{HEALTH_OK, health};

/// One registered scenario function.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Stable name; the wasm export is `fb_<name>`.
    pub name: &'static str,
    /// The scenario. The argument comes from the manifest (`guest.arg`).
    pub run: fn(i64) -> i64,
}

/// Looks up a registered scenario function by name.
pub fn entry(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.name == name)
}

macro_rules! registry {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every scenario function, in catalog order.
        pub static ENTRIES: &[Entry] = &[$(Entry { name: stringify!($name), run: $module::$name }),*];

        #[cfg(target_arch = "wasm32")]
        mod exports {
            $(
                #[unsafe(export_name = concat!("fb_", stringify!($name)))]
                extern "C" fn $name(arg: i64) -> i64 {
                    crate::$module::$name(arg)
                }
            )*

            /// Called by the worker once after instantiation.
            #[unsafe(export_name = "fb_init")]
            extern "C" fn init() {
                crate::host::init();
            }

            #[unsafe(export_name = "fb_health")]
            extern "C" fn health() -> i64 {
                crate::health::health()
            }
        }
    };
}

registry! {
    control::clean_run,
    stack::recursion_small_frames,
    stack::recursion_large_frames,
    stack::bounded_deep_recursion,
    memory::null_write,
    memory::null_read,
    memory::wild_write,
    memory::checked_oob_index,
    memory::unchecked_oob_access,
    memory::use_after_free,
    memory::double_free,
    arithmetic::checked_div_zero,
    arithmetic::hardware_div_zero,
    arithmetic::int_min_div_neg_one,
    arithmetic::float_to_int_unchecked,
    control::explicit_abort,
    control::trap_instruction,
    control::unwinding_panic,
    control::extern_c_panic,
    control::panic_while_panicking,
    resource::runaway_loop,
    resource::memory_bomb,
    resource::huge_allocation,
    resource::memory_grow_refused,
    resource::output_flood,
    resource::stray_processes,
    resource::busy_descendant,
    boundary::host_error,
    boundary::host_panic,
    boundary::host_stack_overflow,
    boundary::host_bad_pointer,
    boundary::kill_parent,
}
