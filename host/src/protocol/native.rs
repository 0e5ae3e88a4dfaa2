//! A scenario run in a forked child of the fork server: the request, and
//! what the fork server saw.

use super::OutputTail;
use crate::limits::{Deadline, Limits};
use crate::outcome::{Progress, Signal};
use serde::{Deserialize, Serialize};

/// The exit code of a native child that could not even start the scenario
/// (its setup failed): the tool's failure, not the guest's.
pub const EXIT_SETUP_FAILED: i32 = 120;

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
