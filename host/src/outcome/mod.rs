//! The outcome of one run: one taxonomy shared by every execution model.
//!
//! Field names here are the JSON report's field names (`--format json`);
//! they are documented on each field and kept stable.

mod signal;
mod trap_code;

pub use signal::Signal;
pub use trap_code::TrapCode;

use crate::limits::{Deadline, Limits};
use crate::model::ExecutionModel;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of fault a run showed. Also used in manifests for the fault a
/// scenario commits (`injects`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultClass {
    /// No fault was observed.
    None,
    /// A call stack ran out: wasm `stack_overflow`, or a native guard-page hit
    /// that Rust reports as "has overflowed its stack".
    StackExhaustion,
    /// An access to memory the guest does not own: wasm `memory_out_of_bounds`,
    /// SIGSEGV/SIGBUS, or heap corruption caught by the C allocator.
    MemoryFault,
    /// Division by zero, division overflow, invalid float-to-int conversion.
    ArithmeticFault,
    /// An indirect call through a null, out-of-range or wrongly typed table
    /// entry (wasm's control-flow integrity checks).
    IndirectCallFault,
    /// The guest stopped itself: `abort()`, a trap instruction (wasm
    /// `unreachable`, x86 `ud2`).
    Abort,
    /// A Rust panic (recovered, or turned into an abort).
    Panic,
    /// The run burned its CPU-time budget: a runaway (epoch interrupt from
    /// the watchdog, fuel, or killed by the fork server).
    Timeout,
    /// The run passed its wall-clock backstop while it had used less CPU
    /// than its budget: it was not running (stopped, blocked on something
    /// that never came, or starved far beyond ordinary load). Told apart
    /// from `timeout` so that a busy machine can never pass for a runaway.
    Stalled,
    /// A memory limit refused the guest (store limit, RLIMIT_AS).
    ResourceLimit,
    /// The fault happened in host code the guest called (the sandbox boundary).
    HostFault,
    /// The guest ended its own process, or its instance, with an exit
    /// status (Go's `os.Exit`, C's `exit`, WASI `proc_exit`): nothing
    /// faulted, but the call never returned and no deferred code ran.
    Exit,
    /// A signal that another process sent (faultbox's injection, a stray
    /// `kill`): not a fault of the guest's code. What it did is the run's
    /// [`Injection`].
    ExternalSignal,
    /// Something ended the run that faultbox cannot attribute.
    Unknown,
}

impl FaultClass {
    pub const ALL: [FaultClass; 14] = [
        FaultClass::None,
        FaultClass::StackExhaustion,
        FaultClass::MemoryFault,
        FaultClass::ArithmeticFault,
        FaultClass::IndirectCallFault,
        FaultClass::Abort,
        FaultClass::Panic,
        FaultClass::Timeout,
        FaultClass::Stalled,
        FaultClass::ResourceLimit,
        FaultClass::HostFault,
        FaultClass::Exit,
        FaultClass::ExternalSignal,
        FaultClass::Unknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultClass::None => "none",
            FaultClass::StackExhaustion => "stack_exhaustion",
            FaultClass::MemoryFault => "memory_fault",
            FaultClass::ArithmeticFault => "arithmetic_fault",
            FaultClass::IndirectCallFault => "indirect_call_fault",
            FaultClass::Abort => "abort",
            FaultClass::Panic => "panic",
            FaultClass::Timeout => "timeout",
            FaultClass::Stalled => "stalled",
            FaultClass::ResourceLimit => "resource_limit",
            FaultClass::HostFault => "host_fault",
            FaultClass::Exit => "exit",
            FaultClass::ExternalSignal => "external_signal",
            FaultClass::Unknown => "unknown",
        }
    }
}

impl fmt::Display for FaultClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The one-word answer per scenario and model, from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No fault intended, none observed: the run completed.
    Ok,
    /// The fault was detected, the hosting process survived and the same
    /// execution context still works.
    Recovered,
    /// The fault was detected and the hosting process survived, but the
    /// execution context is unusable and must be replaced.
    Contained,
    /// A correct program the model could not run: no fault was intended,
    /// yet the model stopped the run with one (e.g. a deep but finite
    /// recursion trapped by the engine's stack limit). The host survived;
    /// the program did not get its answer.
    Failed,
    /// The run did not end by itself in time and was stopped from outside.
    Killed,
    /// The hosting process died (native child, or the wasm worker).
    Crashed,
    /// The guest committed a fault and the model did not notice: the run
    /// completed as if nothing happened.
    Undetected,
    /// The model cannot run this scenario.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// The model could run it, but not on this machine: the language's
    /// toolchain is missing (the ending says what to install). Under `CI`
    /// this is an error instead, so that nothing is skipped silently.
    Skipped,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Recovered => "recovered",
            Verdict::Contained => "contained",
            Verdict::Failed => "failed",
            Verdict::Killed => "killed",
            Verdict::Crashed => "crashed",
            Verdict::Undetected => "undetected",
            Verdict::NotApplicable => "n/a",
            Verdict::Skipped => "skipped",
        }
    }

    pub const ALL: [Verdict; 9] = [
        Verdict::Ok,
        Verdict::Recovered,
        Verdict::Contained,
        Verdict::Failed,
        Verdict::Killed,
        Verdict::Crashed,
        Verdict::Undetected,
        Verdict::NotApplicable,
        Verdict::Skipped,
    ];
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the execution context that ran the fault can be used again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reuse {
    /// The health check passed and nothing the fault touched persists.
    Reusable,
    /// The health check passed, but state left by the faulting call persists
    /// (linear memory is not rolled back; the shadow stack pointer may have moved).
    ReusableStateChanged,
    /// The context exists but fails the health check.
    Unusable,
    /// The context died with the fault (the process is gone).
    Lost,
    /// Reuse was not checked, so nothing is known of it. This happens when:
    /// - the run ended before the scenario was called (a wasm run that
    ///   failed to instantiate, or stopped before its call);
    /// - the module has no `fb_health` export to check with (a `.wat`
    ///   scenario, a module from outside the guest crate);
    /// - a native process lived on, but its health check left no result;
    /// - the model cannot run the scenario (`n/a` outcomes).
    ///
    /// A fault the context survived with reuse unchecked is judged
    /// `contained`, like `unusable` and `lost`: recovery is only claimed
    /// when a health check proved it.
    NotChecked,
}

impl Reuse {
    pub fn name(self) -> &'static str {
        match self {
            Reuse::Reusable => "reusable",
            Reuse::ReusableStateChanged => "reusable_state_changed",
            Reuse::Unusable => "unusable",
            Reuse::Lost => "lost",
            Reuse::NotChecked => "not_checked",
        }
    }
}

impl fmt::Display for Reuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn catch_unwind() -> String {
    "catch_unwind".into()
}

/// How the run ended, as the execution model saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ending {
    /// The scenario function returned `value`.
    Completed { value: i64 },
    /// The language's own recovery caught a fault inside the guest's
    /// process or instance (`catch_unwind` natively; Go's `recover` in
    /// both models).
    Recovered {
        panic_message: String,
        /// The language's recovery mechanism that caught it
        /// (`catch_unwind`, Go's `recover`).
        #[serde(default = "catch_unwind")]
        by: String,
    },
    /// Wasm: execution trapped with `trap`; `frames` is the wasm backtrace,
    /// innermost first.
    Trapped { trap: TrapCode, message: String, frames: Vec<String> },
    /// Wasm: a host function the guest called returned an error.
    HostError { message: String },
    /// Wasm: a host function panicked; wasmtime carried the panic through
    /// the guest's frames back to the embedder's call site.
    HostPanic { message: String },
    /// The process running the guest exited with `code`; in wasm, the
    /// instance called WASI `proc_exit(code)`.
    Exited { code: i32 },
    /// The process running the guest was killed by `signal`.
    Signaled { signal: Signal, core_dumped: bool },
    /// The process ran out of `deadline` and was killed: its CPU budget
    /// (`cpu_ms` reached `limits.timeout_ms`) or its wall-clock backstop
    /// (`wall_ms` passed with less CPU used than the budget).
    TimedOut { deadline: Deadline, cpu_ms: u64, wall_ms: u64 },
    /// The worker process (a wasm worker, or the fork server) died or
    /// stopped answering during the run.
    WorkerLost { signal: Option<Signal>, exit_code: Option<i32>, hung: bool },
    /// The model cannot run the scenario.
    NotApplicable { why: String },
    /// The model could run it but not here: `why` names what is missing
    /// and how to install it.
    Skipped { why: String },
}

impl Ending {
    /// A short label: the trap code, the signal, or the kind of ending.
    pub fn label(&self) -> String {
        match self {
            Ending::Completed { value } => format!("returned {value}"),
            Ending::Recovered { by, .. } => by.clone(),
            Ending::Trapped { trap, .. } => trap.name().into(),
            Ending::HostError { .. } => "host error".into(),
            Ending::HostPanic { .. } => "host panic".into(),
            Ending::Exited { code } => format!("exit {code}"),
            Ending::Signaled { signal, .. } => signal.name(),
            Ending::TimedOut { deadline: Deadline::Cpu, .. } => "CPU budget spent".into(),
            Ending::TimedOut { deadline: Deadline::Wall, .. } => "stalled".into(),
            Ending::WorkerLost { hung: true, .. } => "worker lost (hung)".into(),
            Ending::WorkerLost { signal: Some(s), .. } => format!("worker lost ({s})"),
            Ending::WorkerLost { exit_code, .. } => {
                format!("worker lost (exit {})", exit_code.unwrap_or(-1))
            }
            Ending::NotApplicable { .. } => "n/a".into(),
            Ending::Skipped { .. } => "skipped".into(),
        }
    }
}

/// The facts that decide recoverability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Containment {
    /// The process hosting the guest survived the fault (wasm: the worker;
    /// native: the child standing in for an in-process host).
    pub host_survived: bool,
    /// The model noticed a fault at all.
    pub detected: bool,
    /// The model named the fault the guest committed (observed fault class =
    /// the scenario's `injects`).
    pub classified: bool,
    /// Whether the same execution context can be used again.
    pub reuse: Reuse,
    /// What the reuse check found, one fact per entry.
    pub reuse_detail: Vec<String>,
    /// Microseconds to get a verified working context again: the health
    /// check on the same context when it is reusable, else a fresh context
    /// (new instance, or new child process) plus its health check.
    pub recovery_us: Option<u64>,
}

/// What the run cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Cost {
    /// Wall time of the whole run as the supervisor saw it, in µs.
    pub wall_us: u64,
    /// From entering the scenario to its end (return, trap or death), in µs.
    pub fault_us: Option<u64>,
    /// CPU time the guest used, in µs: native, the child process (from
    /// wait4); wasm, the worker thread during the call.
    pub cpu_us: Option<u64>,
    /// Peak resident set of that process, in KiB (native: from wait4).
    pub max_rss_kib: Option<u64>,
}

/// Progress the guest reported while it ran (recursion depth, iterations,
/// MiB allocated), known even when the run died.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Progress {
    /// The last value reported.
    pub last: i64,
    /// How many reports arrived.
    pub reports: u64,
}

/// One run of one scenario in one execution model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    /// Scenario name (its manifest's file stem).
    pub scenario: String,
    /// The guest's language.
    pub language: crate::model::Language,
    /// Execution model that ran it.
    pub model: ExecutionModel,
    /// The one-word verdict.
    pub verdict: Verdict,
    /// The fault class observed (`none` when nothing was observed).
    pub fault: FaultClass,
    /// How the run ended.
    pub ending: Ending,
    /// Survival, detection, classification, reuse and recovery cost.
    pub containment: Containment,
    /// Progress the guest reported, if any.
    pub progress: Option<Progress>,
    /// Time and memory.
    pub cost: Cost,
    /// The limits the run ran under.
    pub limits: Limits,
    /// The observations the classification rests on, one per entry
    /// (e.g. "stderr: thread 'fb-scenario' has overflowed its stack").
    pub evidence: Vec<String>,
    /// The bounded tail of the guest's output (stdout and stderr), if any.
    pub output_tail: Option<String>,
    /// The signal faultbox sent from outside during the run, and what it
    /// did (`None`: the scenario injects none).
    #[serde(default)]
    pub injection: Option<Injection>,
    /// The deferred functions that ran, in the order they ran, as the guest
    /// reported them (`scenario`, `recover`, ...). `None`: this guest does
    /// not report its defers (only Go's native guest does); `Some` and
    /// empty: none ran.
    #[serde(default)]
    pub defers: Option<Vec<String>>,
}

/// A signal sent to the process running the guest with `kill(2)` once the
/// guest reported that it was ready (its first progress report), as a
/// stray `kill` from another process would arrive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Injection {
    pub signal: Signal,
    /// The process that received it.
    pub target: InjectionTarget,
    /// From the start of the run to the `kill`, in µs, as the sender saw it
    /// (the fork natively; in wasm, the request); `None`: never sent (the
    /// guest never reported ready).
    pub sent_after_us: Option<u64>,
    /// Whether the signal was still pending (blocked, never taken) when the
    /// run ended with the process alive; `None`: not looked at (the
    /// process was gone, or the signal never sent).
    pub still_pending: Option<bool>,
    /// What the signal did, decided from the run's facts.
    pub effect: SignalEffect,
}

/// Which process an injected signal goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InjectionTarget {
    /// Native: the guest's own process (the forked child, or the program it
    /// exec'd).
    GuestProcess,
    /// Wasm: the worker process whose engine runs the guest (faultbox's
    /// worker, or an adapter's Node.js or Go process): what a stray `kill`
    /// does to a wasm host.
    WorkerProcess,
}

impl InjectionTarget {
    pub fn name(self) -> &'static str {
        match self {
            InjectionTarget::GuestProcess => "the guest's process",
            InjectionTarget::WorkerProcess => "the worker process",
        }
    }
}

/// What an injected signal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignalEffect {
    /// It was never sent: the guest did not report ready before its run
    /// ended.
    NotSent,
    /// The receiving process died of that signal (its wait status names it).
    Killed,
    /// The receiving process died otherwise after the signal arrived: an
    /// exit status (Go's runtime prints a traceback and exits 2), or
    /// another signal.
    Ended,
    /// The guest's own handler took it and the guest went on (C's
    /// `sigaction` handler that `siglongjmp`s back, Go's `signal.Notify`).
    Handled,
    /// Wasm: the engine took the signal for a trap of the guest's.
    Trapped,
    /// Nothing the run could see: the process ran on until the guest's
    /// budget stopped it.
    RanOn,
}

impl SignalEffect {
    pub fn name(self) -> &'static str {
        match self {
            SignalEffect::NotSent => "not_sent",
            SignalEffect::Killed => "killed",
            SignalEffect::Ended => "ended",
            SignalEffect::Handled => "handled",
            SignalEffect::Trapped => "trapped",
            SignalEffect::RanOn => "ran_on",
        }
    }

    /// The receiving process outlived the signal.
    pub fn survived(self) -> bool {
        !matches!(self, SignalEffect::Killed | SignalEffect::Ended)
    }
}

#[cfg(test)]
impl Outcome {
    /// An outcome for a unit test of a report's decisions: the facts the
    /// reports read, everything else empty. `detected` is the verdict's
    /// (nothing but `undetected` and `ok` went unnoticed); the host
    /// survived unless it crashed.
    pub fn for_test(
        scenario: &str,
        language: crate::model::Language,
        model: ExecutionModel,
        verdict: Verdict,
        fault: FaultClass,
        ending: Ending,
        reuse: Reuse,
    ) -> Outcome {
        Outcome {
            scenario: scenario.into(),
            language,
            model,
            verdict,
            fault,
            ending,
            containment: Containment {
                host_survived: verdict != Verdict::Crashed,
                detected: !matches!(verdict, Verdict::Undetected | Verdict::Ok),
                classified: true,
                reuse,
                reuse_detail: vec![],
                recovery_us: None,
            },
            progress: None,
            cost: Cost::default(),
            limits: Default::default(),
            evidence: vec![],
            output_tail: None,
            injection: None,
            defers: None,
        }
    }
}

impl Outcome {
    /// What must not change between repeated runs: verdict, fault class,
    /// how the run ended (trap code, signal, kind of ending; not values
    /// such as a returned pid) and reuse.
    pub fn classification(&self) -> String {
        let ending = match &self.ending {
            Ending::Completed { .. } => "completed".to_string(),
            Ending::Recovered { .. } => "recovered".to_string(),
            Ending::Exited { code } => format!("exit {code}"),
            other => other.label(),
        };
        format!("{}/{}/{}/{}", self.verdict, self.fault, ending, self.containment.reuse)
    }
}
