//! A scenario run in a forked child of the fork server: the request, and
//! what the fork server saw.

use super::OutputTail;
use super::wire::{self, DecI64, DecU64};
use crate::limits::{Deadline, Limits};
use crate::outcome::{Progress, Signal};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The exit code of a native child that could not even start the scenario
/// (its setup failed): the tool's failure, not the guest's.
pub const EXIT_SETUP_FAILED: i32 = 120;

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NativeRequest {
    /// `guests::ENTRIES` name; with [`NativeRequest::library`], the
    /// library's `fb_<entry>`; when [`NativeRequest::exec`] is set, only a
    /// name for the run (the program and its arguments say what runs).
    pub entry: String,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecI64")]
    pub arg: i64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "wire::LimitsWire")]
    pub limits: Limits,
    /// Let Rust's default panic hook print (and symbolize) backtraces in
    /// the child. Off by default: it costs the guest's abort path far more
    /// than the abort itself.
    #[serde(default)]
    pub backtrace: bool,
    /// Run a program of its own instead of a linked entry: the forked child
    /// execs it (a language runtime that must not be forked once it runs,
    /// such as Go's). `None`: the linked entry, in the forked child itself.
    #[serde(default)]
    pub exec: Option<ExecGuest>,
    /// Call `fb_<entry>` of this shared library instead of a linked entry:
    /// the fork server dlopens it (once per path) and the forked child
    /// calls it in itself, as it calls a linked entry (a language with no
    /// runtime threads, such as C). `None`: a linked entry, or `exec`.
    #[serde(default)]
    pub library: Option<PathBuf>,
    /// A signal the fork server sends to the child with `kill(2)` once the
    /// guest first reports progress (the region's counter, or an exec'd
    /// program's `progress` line). `None`: nothing is sent.
    #[serde(default)]
    pub inject: Option<Signal>,
}

/// A native guest that is a program, exec'd by the forked child once per
/// run, with an otherwise empty environment. A program faultbox built
/// reports through the pipe named by `FAULTBOX_REPORT_FD` (the protocol:
/// `native::exec::ReportLines`); one it did not build gets no such pipe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExecGuest {
    /// The program; a path (no `PATH` search).
    pub program: PathBuf,
    /// Its arguments, after `argv[0]` (the program's path): the Go guest
    /// takes `<scenario> <arg>`.
    pub args: Vec<String>,
    /// Address space, in MiB, that the program's runtime reserves before
    /// its `main` runs, whatever the guest does: Go's reserves about
    /// 720 MiB (page summaries, arena hints, a stack per thread) and dies
    /// at start-up below that. The child's RLIMIT_AS is this floor plus
    /// `limits.memory_mib` plus `limits.native_stack_kib`: a linked guest's
    /// limit is counted above the address space the child had at fork, but
    /// exec starts an address space afresh.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub address_space_floor_mib: u64,
    /// The program is faultbox's own build (a language's guest program)
    /// and gets the report pipe. `false` (the default): a program faultbox
    /// did not build gets no report channel, no descriptor and no
    /// variable, so nothing it writes is read as a report of its run.
    #[serde(default)]
    pub reports: bool,
}

/// How a child process ended, from wait4.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChildStatus {
    Exited { code: i32 },
    Signaled { signal: Signal, core_dumped: bool },
}

/// How far the native child got, from its shared report region.
/// A plain string on the wire (`"not_started"`...), as every enum whose
/// variants carry nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChildReport {
    pub stage: ChildStage,
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecI64>")]
    pub value: Option<i64>,
    /// Panic messages the child's panic hook saw, in order.
    pub panics: Vec<String>,
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<wire::ProgressWire>")]
    pub progress: Option<Progress>,
    /// Host operation in progress when the child stopped, if any.
    pub host_call: Option<String>,
    /// Allocations the allocator refused, and the bytes of the first.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub alloc_failures: u64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub first_failed_alloc_bytes: u64,
    /// What the health check after the scenario returned, if it ran.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecI64>")]
    pub health: Option<i64>,
    /// fork() to the child being ready to run the scenario, µs.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub startup_us: Option<u64>,
    /// The scenario call, µs (until death when it died).
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub call_us: Option<u64>,
    /// From entering the scenario to the first fault the child recorded
    /// (a panic its hook saw), µs.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub fault_us: Option<u64>,
    /// The health check, µs.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub health_us: Option<u64>,
    /// The deferred functions an exec'd program reported as they ran
    /// (`deferred <label>` lines), in order, at most
    /// `ReportLines::MAX_DEFERS`.
    #[serde(default)]
    pub defers: Vec<String>,
    /// The signal the guest's own `signal.Notify` channel received
    /// (`handled <SIGNAME>`), if any.
    #[serde(default)]
    pub handled: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NativeObservation {
    pub status: ChildStatus,
    /// The fork server killed the child because this budget ran out.
    pub killed_at: Option<Deadline>,
    pub report: ChildReport,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub wall_us: u64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub cpu_us: u64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub max_rss_kib: u64,
    pub stdout: OutputTail,
    pub stderr: OutputTail,
    /// Descendants left behind that the fork server killed.
    pub strays_killed: u32,
    /// What became of the request's `inject` (`None`: it had none).
    #[serde(default)]
    pub injection: Option<InjectionReport>,
}

/// How a signal injection went, as its sender saw it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InjectionReport {
    pub signal: Signal,
    /// From the start of the run (the fork) to the `kill`, µs; `None`: the
    /// guest never reported progress, and nothing was sent.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub sent_after_us: Option<u64>,
    /// Whether the signal was still pending (never taken: blocked by every
    /// thread) when the run ended with the process alive; `None`: not
    /// looked at (the process was gone first, or nothing was sent).
    #[serde(default)]
    pub still_pending: Option<bool>,
}
