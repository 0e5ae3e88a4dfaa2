//! Prebuilt: a module or program faultbox did not build (`run --wasm`,
//! `run --native`, a manifest's `[guest.prebuilt]`). Nothing is known of
//! its toolchain or runtime, so nothing language-specific is read into its
//! deaths: a signal is classified as for any process, exit 0 is a normal
//! end and any other exit code is an `exit`. How its wasm module is called
//! (an `(i64) -> i64` export, or a WASI command's `_start`) is read from
//! the module itself (`scenario::prebuilt`).

use super::{Descriptor, ExitCodes, NativeLauncher, WasmAbi};
use crate::model::Language;

/// RLIMIT_AS floor of a prebuilt program, MiB, on top of the limits'
/// memory and native stack: nothing is known of its runtime, so room for
/// one that reserves address space at start-up as Go's does (about
/// 720 MiB), with a margin.
pub const ADDRESS_SPACE_FLOOR_MIB: u64 = 1024;

pub static DESCRIPTOR: Descriptor = Descriptor {
    language: Language::Prebuilt,
    sources: "",
    recovery: "none known (a prebuilt artifact: faultbox knows no recovery mechanism inside it)",
    // The default; the request for a prebuilt module says per module
    // whether it is linked with WASI and which export runs.
    wasm: WasmAbi::Exports,
    native: NativeLauncher::Exec { address_space_floor_mib: ADDRESS_SPACE_FLOOR_MIB },
    // A model without its artifact (no module, no program) is `n/a` by
    // the scenario's own gap, not by an entry the artifact lacks.
    native_only_entries: false,
    deaths: &[],
    recovered: &[],
    build: None,
    exit_codes: ExitCodes { runtime_death: None, usage: None },
};
