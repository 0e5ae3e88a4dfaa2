//! Per-run resource limits, set per scenario in its manifest.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The limits one run runs under. Every field has a default; a manifest's
/// `[limits]` table overrides any of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// CPU-time budget in milliseconds: the guest's own CPU time, so that a
    /// verdict does not depend on how busy the machine is. Wasm: the worker
    /// thread's CPU clock, checked by the watchdog, which bumps the epoch
    /// and the guest traps with `interrupt`; native: the child's CPU clock,
    /// and the fork server kills it. A much larger wall-clock backstop
    /// ([`Limits::wall_backstop`]) catches a guest that is not running at
    /// all (stopped, blocked, starved): that is reported as *stalled*.
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

    /// The CPU-time budget.
    pub fn cpu_budget(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The wall-clock backstop of this run's CPU budget.
    pub fn wall_backstop(&self) -> Duration {
        wall_backstop(self.cpu_budget())
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib << 20
    }

    /// One line for reports.
    pub fn summary(&self) -> String {
        format!(
            "CPU budget {} ms, memory {} MiB, wasm stack {} KiB, native stack {} KiB",
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

/// How long a run may take in wall-clock time before it is stopped as
/// *stalled*, for a CPU budget of `cpu`. Ten times the budget plus five
/// seconds: on two cores shared with a few busy loops a running guest gets
/// at least a third of a core, so a guest that burns its budget meets the
/// CPU deadline long before this one; only a guest that is not running
/// (stopped, blocked, or starved far beyond ordinary load) gets here.
pub fn wall_backstop(cpu: Duration) -> Duration {
    cpu * 10 + Duration::from_secs(5)
}

/// Which budget has run out, if any: the CPU time used against the
/// budget first (a runaway), then the wall clock against its backstop.
pub fn ran_out(cpu_used: Duration, cpu_budget: Duration, now: std::time::Instant, wall_until: std::time::Instant) -> Option<Deadline> {
    if cpu_used >= cpu_budget {
        Some(Deadline::Cpu)
    } else if now >= wall_until {
        Some(Deadline::Wall)
    } else {
        None
    }
}

/// Which budget a run ran out of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// The guest burned its CPU-time budget (`limits.timeout_ms`): a
    /// runaway.
    Cpu,
    /// The wall-clock backstop passed while the guest had used less CPU
    /// than its budget: it was stalled (stopped, blocked or starved), not
    /// running away.
    Wall,
}
