//! Per-run resource limits, set per scenario in its manifest.

use serde::{Deserialize, Serialize};

/// The limits one run runs under. Every field has a default; a manifest's
/// `[limits]` table overrides any of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock budget in milliseconds. Wasm: an epoch deadline that traps
    /// with `interrupt`; native: the child is killed when it passes.
    pub timeout_ms: u64,
    /// Memory the guest may take, in MiB. Wasm: a store limit on linear
    /// memory growth; native: RLIMIT_AS, counted above the address space the
    /// child already had when it started.
    pub memory_mib: u64,
    /// Wasm call-stack budget in KiB (`Config::max_wasm_stack`).
    pub wasm_stack_kib: u64,
    /// Native stack of the thread that runs the scenario, in KiB.
    pub native_stack_kib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout_ms: 1000, memory_mib: 256, wasm_stack_kib: 512, native_stack_kib: 8192 }
    }
}

/// Accepted ranges, checked when a manifest is loaded.
const TIMEOUT_MS: (u64, u64) = (1, 600_000);
const MEMORY_MIB: (u64, u64) = (1, 4096);
// wasmtime refuses a max_wasm_stack above its async stack size (2 MiB),
// and the worker's own thread must have room beyond it.
const WASM_STACK_KIB: (u64, u64) = (16, 2048);
const NATIVE_STACK_KIB: (u64, u64) = (64, 1024 * 1024);

impl Limits {
    /// Checks every field against its accepted range.
    pub fn validate(&self) -> Result<(), String> {
        check("timeout_ms", self.timeout_ms, TIMEOUT_MS)?;
        check("memory_mib", self.memory_mib, MEMORY_MIB)?;
        check("wasm_stack_kib", self.wasm_stack_kib, WASM_STACK_KIB)?;
        check("native_stack_kib", self.native_stack_kib, NATIVE_STACK_KIB)
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib << 20
    }

    /// One line for reports.
    pub fn summary(&self) -> String {
        format!(
            "timeout {} ms, memory {} MiB, wasm stack {} KiB, native stack {} KiB",
            self.timeout_ms, self.memory_mib, self.wasm_stack_kib, self.native_stack_kib
        )
    }
}

fn check(field: &str, value: u64, (lo, hi): (u64, u64)) -> Result<(), String> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("`limits.{field}` = {value} is out of range ({lo} to {hi})"))
    }
}
