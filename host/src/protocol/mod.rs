//! Messages between the supervisor and its workers: one JSON object per
//! line over the worker's stdin and stdout.
//!
//! Workers report *observations*; the supervisor classifies them
//! (`crate::classify`), so every death is classified in one place.

use crate::limits::{Deadline, Limits};
use crate::model::ExecutionModel;
use crate::outcome::{Progress, Signal, TrapCode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The most guest output kept per stream; the rest is counted, not kept.
pub const OUTPUT_TAIL_BYTES: usize = 64 * 1024;

/// Supervisor → worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Run one scenario in the wasm worker.
    Wasm(WasmRequest),
    /// Run one scenario in a forked child of the fork server.
    Native(NativeRequest),
    /// Run the trap directives of one spec script (`faultbox wast`).
    Wast(crate::spec::WastRequest),
    /// Measure fault-to-usable-again cycles in the worker (`faultbox bench`).
    Bench(crate::bench::BenchRequest),
    /// Trap-and-recover cycles in one worker, watching its RSS (`faultbox soak`).
    Soak(crate::soak::SoakRequest),
    /// Run one random module (`faultbox fuzz`).
    Fuzz(crate::fuzz::FuzzRequest),
}

/// Which module a wasm run uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModuleSource {
    /// The embedded Rust guest (`guests/` compiled to wasm32).
    Guest,
    /// A wasm text file.
    Wat(PathBuf),
    /// A module given inline (random modules, tests).
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WasmRequest {
    pub model: ExecutionModel,
    pub module: ModuleSource,
    /// Export to call: `(i64) -> i64`.
    pub export: String,
    pub arg: i64,
    pub limits: Limits,
    /// Check afterwards whether the same instance is still sound.
    pub check_reuse: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NativeRequest {
    /// `guests::ENTRIES` name.
    pub entry: String,
    pub arg: i64,
    pub limits: Limits,
    /// Let Rust's default panic hook print (and symbolize) backtraces in
    /// the child. Off by default: it costs the guest's abort path far more
    /// than the abort itself.
    #[serde(default)]
    pub backtrace: bool,
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Sent (and flushed) just before host code that may kill the worker
    /// runs, so that a death can be attributed to it.
    HostCall { op: String },
    /// Sent now and then during a long request (soak, bench cycles): how
    /// many of its steps are done, for the supervisor's progress line.
    Progress { done: u64 },
    /// A wasm run's module is compiled (or was already), after `us`: the
    /// run's own deadline starts now. Compiling has a budget of its own.
    Compiled { us: u64 },
    /// The engine would not take the run's module (compile or link): the
    /// guest never ran. The module's doing, not the worker's.
    Refused { message: String },
    Wasm(WasmObservation),
    Native(NativeObservation),
    Wast(crate::spec::WastObservation),
    /// One sample set per configuration, in request order.
    Bench(Vec<crate::bench::BenchSamples>),
    Soak(crate::soak::SoakReport),
    Fuzz(crate::fuzz::FuzzReport),
    /// The worker could not carry out the request (not a guest fault).
    Failed { message: String },
}

/// The bounded tail of one output stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputTail {
    /// Bytes written in all.
    pub total_bytes: u64,
    /// Bytes kept in `tail` (before the lossy UTF-8 conversion).
    pub kept_bytes: u64,
    /// The last bytes written, at most [`OUTPUT_TAIL_BYTES`], lossily UTF-8.
    pub tail: String,
}

/// A ring that keeps the last [`OUTPUT_TAIL_BYTES`] of a stream.
#[derive(Clone, Debug, Default)]
pub struct TailBuffer {
    buf: std::collections::VecDeque<u8>,
    total: u64,
}

impl TailBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let keep = &bytes[bytes.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
        let overflow = (self.buf.len() + keep.len()).saturating_sub(OUTPUT_TAIL_BYTES);
        self.buf.drain(..overflow.min(self.buf.len()));
        self.buf.extend(keep);
    }

    pub fn clear(&mut self) {
        *self = TailBuffer::default();
    }

    /// Counts bytes that were written but not kept.
    pub fn count_skipped(&mut self, n: u64) {
        self.total += n;
    }

    pub fn finish(&self) -> OutputTail {
        let (a, b) = self.buf.as_slices();
        let mut bytes = a.to_vec();
        bytes.extend_from_slice(b);
        OutputTail { total_bytes: self.total, kept_bytes: bytes.len() as u64, tail: String::from_utf8_lossy(&bytes).into_owned() }
    }
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
    /// Guest output (through `fb.write`).
    pub output: OutputTail,
}

/// How a child process ended, from wait4.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChildStatus {
    Exited { code: i32 },
    Signaled { signal: Signal, core_dumped: bool },
}

/// How far the native child got, from its shared report region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildStage {
    /// Never reached the scenario.
    NotStarted,
    /// Entered the scenario and did not come back.
    Running,
    /// The scenario returned.
    Completed,
    /// The scenario panicked and `catch_unwind` caught it.
    Recovered,
}

/// What the native child wrote into its shared report region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildReport {
    pub stage: ChildStage,
    pub value: Option<i64>,
    /// Panic messages the child's panic hook saw, in order.
    pub panics: Vec<String>,
    pub progress: Option<Progress>,
    /// Host operation in progress when the child stopped, if any.
    pub host_call: Option<String>,
    /// Allocations the allocator refused, and the bytes of the first.
    pub alloc_failures: u64,
    pub first_failed_alloc_bytes: u64,
    /// What the health check after the scenario returned, if it ran.
    pub health: Option<i64>,
    /// fork() to the child being ready to run the scenario, µs.
    pub startup_us: Option<u64>,
    /// The scenario call, µs (until death when it died).
    pub call_us: Option<u64>,
    /// From entering the scenario to the first fault the child recorded
    /// (a panic its hook saw), µs.
    pub fault_us: Option<u64>,
    /// The health check, µs.
    pub health_us: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NativeObservation {
    pub status: ChildStatus,
    /// The fork server killed the child because this budget ran out.
    pub killed_at: Option<Deadline>,
    pub report: ChildReport,
    pub wall_us: u64,
    pub cpu_us: u64,
    pub max_rss_kib: u64,
    pub stdout: OutputTail,
    pub stderr: OutputTail,
    /// Descendants left behind that the fork server killed.
    pub strays_killed: u32,
}
