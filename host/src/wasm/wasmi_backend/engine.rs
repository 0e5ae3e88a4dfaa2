//! wasmi's engine configuration: where the registry row, the feature
//! profile and the request's stack limit become a `wasmi::Config`.

use crate::model::EngineConfig;
use crate::registry::{EngineFamily, Proposal};
use crate::wasm::WasmProfile;
use wasmi::{CompilationMode, Config, Engine};

/// What one wasmi engine is built from. Modules are compiled per engine,
/// so a worker keeps one engine per distinct spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WasmiSpec {
    pub model: EngineConfig,
    pub wasm_stack_kib: u64,
    pub profile: WasmProfile,
}

/// What a frame is charged at least, in bytes of the stack budget: what
/// one level of `recursion_small_frames` costs wasmtime's Cranelift on
/// x86-64 (return address, saved frame pointer, spills), measured as
/// 512 KiB / 10,916 levels = 48 bytes. wasmi keeps its frames on the heap,
/// so its recursion depth is a count of its own; charging this much per
/// frame makes the same `wasm_stack_kib` stop the same recursion at about
/// the same depth in both engines.
pub const FRAME_BYTES: usize = 48;

/// The smallest value stack wasmi is given (its own default minimum, and
/// room for the arguments of a root call).
const MIN_STACK_BYTES: usize = 1000;

/// The stack limits for `wasm_stack_kib`, documented in one place:
///
/// - the value stack (wasmi's `max_stack_height`, bytes of 8-byte cells
///   holding every frame's parameters, locals and temporaries, what
///   Cranelift keeps in registers and spill slots on the native stack) gets
///   the whole budget, `wasm_stack_kib × 1024` bytes;
/// - the call stack (wasmi's `max_recursion_depth`, a count of frames, each
///   a 24-byte record on the heap: `engine/executor/handler/state.rs`,
///   `CallStack::push` traps `StackOverflow` at the limit) gets
///   `wasm_stack_kib × 1024 / FRAME_BYTES` frames.
///
/// Whichever runs out first traps `stack_overflow`. Neither is the worker
/// thread's native stack: wasmi calls wasm functions without recursing
/// natively (its handlers dispatch by tail call or in a loop).
pub fn stack_limits(wasm_stack_kib: u64) -> (usize, usize) {
    let bytes = usize::try_from(wasm_stack_kib.saturating_mul(1024)).unwrap_or(usize::MAX);
    let height = bytes.max(MIN_STACK_BYTES);
    let depth = (bytes / FRAME_BYTES).max(1);
    (height, depth)
}

/// wasmi's switch for each Wasm 3.0 proposal it implements (wasmi 2.0's
/// `engine/config.rs`); `None`: wasmi has no switch for it and its
/// validator rejects it whatever the configuration.
fn switch(p: Proposal) -> Option<fn(&mut Config, bool) -> &mut Config> {
    Some(match p {
        Proposal::TailCalls => Config::wasm_tail_call,
        Proposal::ExtendedConst => Config::wasm_extended_const,
        Proposal::MultiMemory => Config::wasm_multi_memory,
        Proposal::Memory64 => Config::wasm_memory64,
        Proposal::RelaxedSimd => Config::wasm_relaxed_simd,
        Proposal::FunctionReferences | Proposal::Gc | Proposal::Exceptions => return None,
    })
}

impl WasmiSpec {
    pub fn new(model: EngineConfig, wasm_stack_kib: u64) -> WasmiSpec {
        WasmiSpec { model, wasm_stack_kib, profile: WasmProfile::current() }
    }

    /// The configuration this spec stands for.
    pub fn config(&self) -> anyhow::Result<Config> {
        if self.model.family() != EngineFamily::Wasmi {
            anyhow::bail!("{} is not a wasmi configuration ({})", self.model, self.model.family().name());
        }
        let mut config = Config::default();
        let (height, depth) = stack_limits(self.wasm_stack_kib);
        // The minimum first: wasmi panics when a maximum falls below it.
        config.set_min_stack_height(MIN_STACK_BYTES.min(height)).set_max_stack_height(height).set_max_recursion_depth(depth);
        config
            .consume_fuel(true)
            // Translated when the module is prepared, not lazily on first
            // call: the call's budget is the guest's alone (and lazy
            // translation would charge fuel for it, `Config::fuel_cost`).
            .compilation_mode(CompilationMode::Eager);
        // Every feature is set explicitly, on or off: wasmi's defaults move
        // between releases, the profile must not. Wasm 2.0 first.
        config
            .wasm_mutable_global(true)
            .wasm_sign_extension(true)
            .wasm_saturating_float_to_int(true)
            .wasm_multi_value(true)
            .wasm_bulk_memory(true)
            .wasm_reference_types(true)
            .wasm_simd(true)
            .floats(true)
            // Not Wasm 3.0: off in both profiles, as wasmtime's NOT_WASM3.
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false);
        for p in Proposal::ALL {
            let lacks = self.model.capabilities().lacks(p);
            match switch(p) {
                Some(set) => {
                    set(&mut config, self.profile == WasmProfile::Wasm3 && lacks.is_none());
                }
                // The registry must not claim a proposal wasmi cannot have.
                None if lacks.is_none() => {
                    anyhow::bail!("the registry says {} implements {}, but wasmi 2.0 has no switch for it", self.model, p.name())
                }
                None => {}
            }
        }
        Ok(config)
    }

    pub fn build(&self) -> anyhow::Result<Engine> {
        Ok(Engine::new(&self.config()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_budget_maps_to_both_of_wasmis_limits() {
        // 512 KiB: 524,288 bytes of value stack, 10,922 frames.
        assert_eq!(stack_limits(512), (512 * 1024, 512 * 1024 / FRAME_BYTES));
        assert_eq!(stack_limits(512).1, 10_922);
        // A budget too small for one frame still allows the root call.
        assert_eq!(stack_limits(0), (MIN_STACK_BYTES, 1));
        for kib in [0, 1, 64, 512, 8192] {
            assert!(WasmiSpec { model: EngineConfig::Wasmi, wasm_stack_kib: kib, profile: WasmProfile::Wasm3 }.config().is_ok(), "{kib} KiB");
        }
    }

    /// Each profile turns the proposals on or off as the registry says, seen
    /// through what wasmi then validates.
    #[test]
    fn the_profile_decides_the_proposals() {
        // One `return_call` (tail calls, Wasm 3.0).
        let tail = wat::parse_str("(module (func $f (return_call $f)))").unwrap();
        // A memory64 memory.
        let mem64 = wat::parse_str("(module (memory i64 1))").unwrap();
        // A typed function reference (function references: wasmi lacks it).
        let func_ref = wat::parse_str("(module (type $t (func)) (func (param (ref null $t))))").unwrap();
        let validates = |profile, bytes: &[u8]| {
            let engine = WasmiSpec { model: EngineConfig::Wasmi, wasm_stack_kib: 512, profile }.build().unwrap();
            wasmi::Module::validate(&engine, bytes).is_ok()
        };
        assert!(validates(WasmProfile::Wasm3, &tail));
        assert!(!validates(WasmProfile::Wasm2, &tail));
        assert!(validates(WasmProfile::Wasm3, &mem64));
        assert!(!validates(WasmProfile::Wasm2, &mem64));
        assert!(!validates(WasmProfile::Wasm3, &func_ref));
        assert!(EngineConfig::Wasmi.capabilities().lacks(Proposal::FunctionReferences).is_some());
        assert!(WasmiSpec::new(EngineConfig::Cranelift, 512).config().is_err(), "not a wasmi row");
    }
}
