//! Hand-written WebAssembly text (`scenarios/wat/`): modules that exercise
//! what no compiler emits on purpose (bad indirect calls, GC casts, tail
//! calls). Wasm models only.

use super::{Descriptor, ExitCodes, NativeLauncher, WasmAbi};
use crate::model::Language;

pub static DESCRIPTOR: Descriptor = Descriptor {
    language: Language::Wat,
    sources: "../scenarios/wat",
    recovery: "none (wasm has no in-module recovery from a trap)",
    wasm: WasmAbi::Exports,
    native: NativeLauncher::None { why: "a hand-written wasm module has no native form" },
    native_only_entries: false,
    deaths: &[],
    recovered: &[],
    build: None,
    exit_codes: ExitCodes { runtime_death: None, usage: None },
};
