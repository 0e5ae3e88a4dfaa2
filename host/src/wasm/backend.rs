//! The seam between faultbox's wasm runs and a wasm engine: one
//! [`Backend`] per engine family (wasmtime's three configurations are one
//! implementation, wasmi another), each reporting facts in the engine's own
//! terms mapped through its trap table; [`super::run`] drives any of them
//! through the same sequence (instantiate, snapshot, call under a budget,
//! diff, health, reuse rounds, a fresh instance), so that what differs
//! between engines is only what the engines do.

use crate::limits::Deadline;
use crate::outcome::Progress;
use crate::protocol::{HealthCheck, OutputTail, WasmEnding, WasmRequest};
use std::time::Duration;

/// A WASI command's entry point (`() -> ()`): returning from it is an exit
/// with code 0, `proc_exit(n)` an exit with code n.
pub const COMMAND_START: &str = "_start";
/// The reactor's initialisation export (WASI "reactor" ABI): called once
/// after instantiation, before any other export. Go's runtime starts up in
/// it and returns at `pause`.
pub const REACTOR_INIT: &str = "_initialize";
/// The export every guest offers for the health check: `() -> i64`.
pub const HEALTH_EXPORT: &str = "fb_health";
/// Optional `() -> ()` export called once after instantiation.
pub const INIT_EXPORT: &str = "fb_init";
/// The shadow-stack pointer global LLVM's wasm targets export.
pub const STACK_POINTER: &str = "__stack_pointer";

/// What a run calls: a scenario export `(i64) -> i64`, or a WASI
/// command's `_start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Scenario(String),
    Command,
}

impl Entry {
    pub fn of(export: &str) -> Entry {
        if export == COMMAND_START { Entry::Command } else { Entry::Scenario(export.to_string()) }
    }
}

/// How one call into the guest ended, with its budget's facts.
#[derive(Clone, Debug)]
pub struct Called {
    pub ending: WasmEnding,
    /// The wasm fault address the engine attached, if any.
    pub fault_detail: Option<String>,
    /// The budget that ran out, if one did.
    pub deadline: Option<Deadline>,
    pub wall_us: u64,
    /// CPU time of the calling thread during the call.
    pub cpu_us: u64,
}

/// What the guest reported through `fb.*` and WASI while it ran.
#[derive(Clone, Debug, Default)]
pub struct GuestReports {
    pub progress: Option<Progress>,
    pub guest_panic: Option<String>,
    /// Memory or table growth the store limits refused.
    pub refused_growth: Vec<String>,
    /// The host operation in flight when the call ended, if any.
    pub host_call: Option<String>,
    /// `fb.write` then WASI stdout.
    pub output: OutputTail,
    /// WASI stderr.
    pub stderr: OutputTail,
}

/// The part of an instance's state the reuse check diffs: read by the
/// engine, compared by [`super::reuse`] the same way for every engine.
pub struct StateView<'a> {
    /// `__stack_pointer`, if the module exports it as an i32 global.
    pub stack_pointer: Option<u32>,
    /// Every exported global, by name, as text.
    pub globals: Vec<(String, String)>,
    /// The exported `memory`, whole.
    pub memory: Option<&'a [u8]>,
}

/// A fresh instance, or how making one ended.
pub enum Instantiated<I> {
    /// Instantiated, `_initialize` and `fb_init` run; after `us`.
    Ready(I, u64),
    /// The start function, `_initialize` or `fb_init` ended it.
    Failed { called: Called, reports: GuestReports },
}

/// One engine family. A backend is built once per worker for one
/// configuration and serves every request that worker gets.
pub trait Backend {
    type Instance: Instance;

    /// Validates, compiles (through the module cache where the engine has
    /// one) and links the request's module under the process's feature
    /// profile. `Ok(Err(why))`: the engine refused the module — the
    /// guest's doing; `Err`: the worker could not set up at all.
    fn prepare(&mut self, req: &WasmRequest) -> anyhow::Result<Result<(), String>>;

    /// A fresh instance of the prepared module with the request's memory
    /// cap, WASI arguments and `fb` imports, its initialisation run under
    /// the request's CPU budget.
    fn instantiate(&mut self, req: &WasmRequest) -> anyhow::Result<Instantiated<Self::Instance>>;
}

/// One live instance with its store.
pub trait Instance {
    /// Checks that `entry` exists with its signature; `Err` names what is
    /// wrong (a setup failure, not an outcome).
    fn check_entry(&mut self, entry: &Entry) -> anyhow::Result<()>;

    /// Calls `entry` (a scenario with `arg`) under a CPU budget. A call
    /// that completes returns `Completed` (a command's `_start` returning
    /// is `Exited { code: 0 }`).
    fn call(&mut self, entry: &Entry, arg: i64, budget: Duration) -> Called;

    /// Calls `fb_health` under a fresh budget.
    fn health(&mut self, budget: Duration) -> HealthCheck;

    /// The state the reuse check diffs.
    fn state(&mut self) -> StateView<'_>;

    /// What the guest reported so far.
    fn reports(&mut self) -> GuestReports;
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// One short phrase for how a call ended.
pub fn describe(ending: &WasmEnding) -> String {
    match ending {
        WasmEnding::Completed { value } => format!("returned {value:#x}"),
        WasmEnding::Trapped { trap, .. } => format!("trapped: {trap}"),
        WasmEnding::Exited { code } => format!("proc_exit({code})"),
        WasmEnding::HostError { message } | WasmEnding::Failed { message } | WasmEnding::HostPanic { message } => {
            message.clone()
        }
    }
}

/// How a failed `fb_health` call reads, from its ending.
pub fn health_failure(ending: &WasmEnding) -> HealthCheck {
    HealthCheck::Failed(match ending {
        WasmEnding::Trapped { trap, .. } => format!("trapped: {trap}"),
        WasmEnding::HostError { message } | WasmEnding::Failed { message } => message.clone(),
        WasmEnding::HostPanic { message } => format!("host panic: {message}"),
        WasmEnding::Exited { code } => format!("proc_exit({code})"),
        WasmEnding::Completed { value } => format!("returned {value:#x}"),
    })
}

/// A call whose entry `check_entry` never resolved: the caller's mistake,
/// reported as the run's failure rather than a panic in the worker.
pub fn unresolved(entry: &Entry) -> Called {
    let message = format!("{entry:?} was called before check_entry resolved it");
    Called { ending: WasmEnding::Failed { message }, fault_detail: None, deadline: None, wall_us: 0, cpu_us: 0 }
}

/// The guest's output as an observation reports it: `fb.write`'s, then
/// WASI stdout's (a module normally uses one or the other; with both, their
/// interleaving is lost and the totals add up).
pub fn merged_output(fb: OutputTail, stdout: Option<OutputTail>) -> OutputTail {
    let Some(stdout) = stdout else { return fb };
    match (fb.total_bytes, stdout.total_bytes) {
        (_, 0) => fb,
        (0, _) => stdout,
        _ => {
            let mut both = crate::protocol::TailBuffer::default();
            both.count_skipped(fb.total_bytes - fb.kept_bytes);
            both.push(fb.tail.as_bytes());
            both.count_skipped(stdout.total_bytes - stdout.kept_bytes);
            both.push(stdout.tail.as_bytes());
            both.finish()
        }
    }
}
