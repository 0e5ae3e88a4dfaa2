//! A scenario run in a wasm worker: the request, and what the worker saw.

use super::OutputTail;
use crate::limits::{Deadline, Limits};
use crate::model::EngineConfig;
use crate::outcome::{Progress, TrapCode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which module a wasm run uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModuleSource {
    /// The embedded Rust guest (`guests/` compiled to wasm32).
    Guest,
    /// A wasm text file.
    Wat(PathBuf),
    /// A module given inline (random modules, tests).
    Bytes(Vec<u8>),
    /// A binary `.wasm` file on disk (a cached Go build, a user's module).
    File(PathBuf),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WasmRequest {
    pub model: EngineConfig,
    pub module: ModuleSource,
    /// Export to call: `(i64) -> i64`, or a WASI command's `_start`,
    /// `() -> ()`, whose return is an exit with code 0.
    pub export: String,
    pub arg: i64,
    pub limits: Limits,
    /// Check afterwards whether the same instance is still sound.
    pub check_reuse: bool,
    /// Link WASI preview 1 too (Go's wasip1 reactor): see `crate::wasm::wasi`.
    #[serde(default)]
    pub wasi: bool,
    /// With `check_reuse`, when the call did not return (a trap, an exit)
    /// and the health check after it returned HEALTH_OK: repeat (scenario, `fb_health`) up to this many
    /// more times on the same instance, stopping at the first round whose
    /// `fb_health` does not (`ReuseFacts::rounds_*`). Each call has its own
    /// CPU budget: a supervisor deadline must allow for 2 × rounds more.
    #[serde(default)]
    pub reuse_rounds: u32,
    /// With `wasi`: the module's WASI arguments, `argv[0]` first (empty:
    /// none at all). A WASI command (`export` = `_start`, called as
    /// `() -> ()`) reads its command line from these.
    #[serde(default)]
    pub args: Vec<String>,
}

/// How a wasm call ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WasmEnding {
    Completed { value: i64 },
    Trapped { trap: TrapCode, message: String, frames: Vec<String> },
    HostError { message: String },
    HostPanic { message: String },
    /// Instantiation or the call failed for a reason that is not a trap.
    Failed { message: String },
    /// The guest called WASI `proc_exit(code)` (wasmtime's `I32Exit`), in
    /// the call or in the reactor's `_initialize`: an exit the guest chose
    /// (Go's `os.Exit(3)`), or its runtime's last resort (Go's `exit(4)`
    /// when a dead instance is called again). Only WASI modules do this.
    Exited { code: i32 },
}

/// What the health check on the same instance found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum HealthCheck {
    /// `fb_health` returned this value.
    Returned(i64),
    /// `fb_health` did not return: how it ended.
    Failed(String),
    /// The module has no `fb_health` export.
    Missing,
}

/// Facts about the instance after the call, before and after `fb_health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReuseFacts {
    pub health: HealthCheck,
    /// `__stack_pointer` before and after the call, if the module exports it.
    pub stack_pointer: Option<(u32, u32)>,
    /// Exported globals whose value changed: "name: before -> after".
    pub globals_changed: Vec<String>,
    /// Bytes of live linear memory that changed: everything but the dead
    /// part of the shadow stack (below the stack pointer at entry).
    pub memory_changed_bytes: u64,
    /// Where: runs of changed addresses, inclusive.
    pub memory_changed_runs: Vec<(u32, u32)>,
    /// Bytes that changed below the stack pointer at entry: the call's own
    /// frames, and any stray write that landed there (a null write does).
    pub dead_stack_changed_bytes: u64,
    pub dead_stack_changed_runs: Vec<(u32, u32)>,
    /// Memory size before and after, in bytes.
    pub memory_size: Option<(u64, u64)>,
    /// With `WasmRequest::reuse_rounds`: how many further rounds of
    /// (scenario, `fb_health`) on the same instance kept `fb_health`
    /// returning HEALTH_OK. `None`: no rounds ran (none asked for, or the
    /// first health check already failed).
    #[serde(default)]
    pub rounds_healthy: Option<u32>,
    /// How the first round whose `fb_health` did not return HEALTH_OK ended.
    #[serde(default)]
    pub rounds_broke: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WasmObservation {
    pub ending: WasmEnding,
    pub progress: Option<Progress>,
    /// The message the guest's panic hook passed out before aborting.
    pub guest_panic: Option<String>,
    /// Memory or table growth the store limits refused.
    pub refused_growth: Vec<String>,
    /// The host operation in progress when the call ended, if any.
    pub host_call: Option<String>,
    /// The wasm fault address wasmtime attached, if any.
    pub fault_detail: Option<String>,
    pub reuse: Option<ReuseFacts>,
    /// The budget the watchdog enforced on the call (or the instantiation),
    /// if one ran out.
    pub deadline: Option<Deadline>,
    /// Instantiating the instance the scenario ran in, µs.
    pub instantiate_us: u64,
    /// The scenario call, µs.
    pub call_us: u64,
    /// CPU time of the worker thread during the call, µs.
    pub call_cpu_us: Option<u64>,
    /// The health check on the same instance, µs.
    pub health_us: Option<u64>,
    /// A fresh instance plus its health check, µs.
    pub fresh_context_us: Option<u64>,
    /// Guest output (through `fb.write`, and WASI stdout), when the call ended.
    pub output: OutputTail,
    /// WASI stderr (empty without WASI), as it was when the scenario call
    /// ended: `_initialize`'s and the call's, not the health check's.
    #[serde(default)]
    pub stderr: OutputTail,
}

