//! Rust: the `faultbox-guests` crate, compiled to wasm32 by the host's
//! build script (embedded in faultbox) and linked natively into faultbox,
//! where the fork server's child calls it inside `catch_unwind`.

use super::{Descriptor, ExitCodes, NativeLauncher, WasmAbi};
use crate::model::Language;

pub static DESCRIPTOR: Descriptor = Descriptor {
    language: Language::Rust,
    sources: "rust",
    recovery: "catch_unwind",
    wasm: WasmAbi::Exports,
    native: NativeLauncher::InProcess,
    native_only_entries: true,
    // A Rust child dies by a signal; its runtime's last words and the
    // records of its panic hook and allocator are read by
    // `classify::classify_death`, which knows the child's report region.
    deaths: &[],
    recovered: &[],
    build: None,
    exit_codes: ExitCodes { runtime_death: None, usage: None },
};
