//! faultbox guest scenarios: one source, compiled twice.
//!
//! Every scenario is a plain Rust function `fn(i64) -> i64` registered under a
//! stable name in [`ENTRIES`]. The host's build script compiles this crate to
//! `wasm32-unknown-unknown` (cdylib, `panic = "abort"`), where each entry is
//! exported as `fb_<name>`; the native execution model links the same crate as
//! an rlib and calls the function directly through the Rust ABI, so
//! `catch_unwind` sees unwinding panics. An entry marked `native` in the
//! registry ([`Entry::native_only`], today only `sigbus_truncated_mapping`)
//! is compiled out of the wasm build: the module has no export for it.
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
//! attempts that fail in wasm and return -1 there; and the native-only
//! `sigbus_truncated_mapping` calls libc's `memfd_create`, `ftruncate` and
//! `mmap` through `extern "C"` declarations (std links libc already).
//!
//! `await_signal` is the guest for a signal injected from outside: it
//! reports progress 1 and spins, with no handler of its own, in both builds.

pub mod host;

mod arithmetic;
mod boundary;
mod control;
mod health;
mod memory;
mod resource;
mod signal;
mod stack;

pub use health::{HEALTH_OK, health};

/// One registered scenario function.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Stable name; the wasm export is `fb_<name>`.
    pub name: &'static str,
    /// The scenario. The argument comes from the manifest (`guest.arg`).
    pub run: fn(i64) -> i64,
    /// The entry exists only natively (it needs the OS: mmap, signals): the
    /// wasm module has no `fb_<name>` export, and the wasm build's
    /// [`ENTRIES`] does not list it.
    pub native_only: bool,
}

/// Looks up a registered scenario function by name.
pub fn entry(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.name == name)
}

/// Builds [`ENTRIES`] and the wasm exports from one list, in catalog order.
/// Each item is `module::function`; `native module::function` marks an
/// entry that exists only natively: its function is compiled out of the
/// wasm build (`#[cfg(not(target_arch = "wasm32"))]`), so the list leaves it
/// out there and the module exports no `fb_<name>`.
macro_rules! registry {
    (@munch [$($entries:tt)*] [$($exports:tt)*]) => {
        /// Every scenario function of this build, in catalog order.
        pub static ENTRIES: &[Entry] = &[$($entries)*];

        #[cfg(target_arch = "wasm32")]
        mod exports {
            $($exports)*

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
    (@munch [$($entries:tt)*] [$($exports:tt)*] native $module:ident :: $name:ident $(, $($rest:tt)*)?) => {
        registry!(@munch
            [$($entries)*
             #[cfg(not(target_arch = "wasm32"))]
             Entry { name: stringify!($name), run: $module::$name, native_only: true },]
            [$($exports)*]
            $($($rest)*)?);
    };
    (@munch [$($entries:tt)*] [$($exports:tt)*] $module:ident :: $name:ident $(, $($rest:tt)*)?) => {
        registry!(@munch
            [$($entries)* Entry { name: stringify!($name), run: $module::$name, native_only: false },]
            [$($exports)*
             #[unsafe(export_name = concat!("fb_", stringify!($name)))]
             extern "C" fn $name(arg: i64) -> i64 {
                 crate::$module::$name(arg)
             }]
            $($($rest)*)?);
    };
    ($($items:tt)*) => {
        registry!(@munch [] [] $($items)*);
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
    signal::await_signal,
    native memory::sigbus_truncated_mapping,
}
