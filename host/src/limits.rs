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

/// A duration faultbox takes from an environment variable, in whole
/// milliseconds. Set but empty is as good as unset (as for every
/// `FAULTBOX_*` variable); anything else must be digits within `range`,
/// or faultbox refuses to start (exit 2, naming the variable): a budget
/// silently replaced by its default is a misconfiguration nobody sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MillisVar {
    pub name: &'static str,
    /// Accepted values, inclusive. The upper bound keeps `now + value`
    /// from overflowing an `Instant`.
    pub range: (u64, u64),
}

/// How long compiling a wasm run's module may take (default two minutes).
pub const COMPILE_BUDGET_VAR: MillisVar = MillisVar { name: "FAULTBOX_COMPILE_BUDGET_MS", range: (1, DAY_MS) };
/// The deadline of every external tool faultbox runs (toolchain queries
/// such as `clang --version` and builds such as `go build`), replacing
/// their defaults (30 s for a query, 10 minutes for a build): a slow
/// machine can give builds longer, a test can make a hanging tool's
/// deadline short.
pub const TOOL_TIMEOUT_VAR: MillisVar = MillisVar { name: "FAULTBOX_TOOL_TIMEOUT_MS", range: (1, DAY_MS) };
/// Every duration variable, checked when faultbox starts.
pub const MILLIS_VARS: &[MillisVar] = &[COMPILE_BUDGET_VAR, TOOL_TIMEOUT_VAR];

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl MillisVar {
    /// The variable's value in this process's environment: `None` when
    /// unset or empty, an error line naming it when it is not a duration.
    pub fn get(&self) -> Result<Option<Duration>, String> {
        self.parse(std::env::var_os(self.name).as_deref())
    }

    /// `value` read as this variable's duration.
    pub fn parse(&self, value: Option<&std::ffi::OsStr>) -> Result<Option<Duration>, String> {
        let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
        let (lo, hi) = self.range;
        let shown = value.to_string_lossy();
        let shown = shown.escape_debug();
        let text = value.to_str().filter(|t| t.bytes().all(|b| b.is_ascii_digit()));
        // Digits only: `-5`, `+5`, ` 5` and `5ms` are refused, not guessed.
        let Some(ms) = text.and_then(|t| t.parse::<u64>().ok()) else {
            return Err(format!("{}={shown}: not a whole number of milliseconds ({lo} to {hi})", self.name));
        };
        if !(lo..=hi).contains(&ms) {
            return Err(format!("{}={shown}: out of range ({lo} to {hi} milliseconds)", self.name));
        }
        Ok(Some(Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn a_duration_variable_is_digits_within_its_range_or_refused() {
        let var = MillisVar { name: "FAULTBOX_X_MS", range: (1, 1000) };
        let table: &[(Option<&str>, Result<Option<u64>, &str>)] = &[
            (None, Ok(None)),
            (Some(""), Ok(None)),
            (Some("1"), Ok(Some(1))),
            (Some("1000"), Ok(Some(1000))),
            (Some("0250"), Ok(Some(250))),
            (Some("abc"), Err("FAULTBOX_X_MS=abc: not a whole number of milliseconds (1 to 1000)")),
            (Some("-5"), Err("FAULTBOX_X_MS=-5: not a whole number of milliseconds (1 to 1000)")),
            (Some("+5"), Err("FAULTBOX_X_MS=+5: not a whole number of milliseconds (1 to 1000)")),
            (Some(" 5"), Err("FAULTBOX_X_MS= 5: not a whole number of milliseconds (1 to 1000)")),
            (Some("5ms"), Err("FAULTBOX_X_MS=5ms: not a whole number of milliseconds (1 to 1000)")),
            (Some("1.5"), Err("FAULTBOX_X_MS=1.5: not a whole number of milliseconds (1 to 1000)")),
            (Some("99999999999999999999999"), Err("FAULTBOX_X_MS=99999999999999999999999: not a whole number of milliseconds (1 to 1000)")),
            (Some("0"), Err("FAULTBOX_X_MS=0: out of range (1 to 1000 milliseconds)")),
            (Some("1001"), Err("FAULTBOX_X_MS=1001: out of range (1 to 1000 milliseconds)")),
            (Some("a\nb"), Err("FAULTBOX_X_MS=a\\nb: not a whole number of milliseconds (1 to 1000)")),
        ];
        for (value, want) in table {
            let got = var.parse(value.map(std::ffi::OsStr::new));
            let want = want.clone().map(|ms| ms.map(Duration::from_millis)).map_err(str::to_string);
            assert_eq!(got, want, "{value:?}");
        }
    }

    #[test]
    fn every_duration_variable_is_named_and_fits_an_instant() {
        for var in MILLIS_VARS {
            assert!(var.name.starts_with("FAULTBOX_") && var.name.ends_with("_MS"), "{}", var.name);
            assert!(var.range.0 >= 1, "{}: zero would mean no time at all", var.name);
            let _ = std::time::Instant::now() + Duration::from_millis(var.range.1);
        }
    }
}
