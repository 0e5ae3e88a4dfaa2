//! Classification: from what a worker observed to an [`Outcome`].
//!
//! This is the one place where deaths, traps and recoveries are turned into
//! fault classes and verdicts, whichever model and whichever process they
//! came from.

pub mod fuzz;
pub mod injection;
pub mod wast;

use crate::limits::Deadline;
use crate::model::ExecutionModel;
use crate::outcome::{
    Containment, Cost, Ending, FaultClass, Outcome, Progress, Reuse, Signal, TrapCode, Verdict,
};
use crate::scenario::Scenario;
use crate::protocol::{
    ChildStage, ChildStatus, CycleEnding, CycleTrap, HealthCheck, Lost, NativeObservation, OutputTail, ReuseFacts, WasmEnding,
    WasmObservation,
};
use faultbox_guests::HEALTH_OK;

/// The verdict follows from four facts, in this order. `injects` =
/// `unknown` (a prebuilt module or program: faultbox cannot know whether
/// it means to fault) reads a clean run as `ok`, never `undetected`, and a
/// fault by what survived it, never `failed`.
pub fn verdict(injects: FaultClass, fault: FaultClass, host_survived: bool, killed: bool, reuse: Reuse) -> Verdict {
    if killed {
        Verdict::Killed
    } else if !host_survived {
        Verdict::Crashed
    } else if fault == FaultClass::None {
        if matches!(injects, FaultClass::None | FaultClass::Unknown) { Verdict::Ok } else { Verdict::Undetected }
    } else if injects == FaultClass::None {
        // Surviving a fault the program never committed is no recovery:
        // the correct program did not get its answer.
        Verdict::Failed
    } else {
        match reuse {
            Reuse::Reusable | Reuse::ReusableStateChanged => Verdict::Recovered,
            Reuse::Unusable | Reuse::Lost | Reuse::NotChecked => Verdict::Contained,
        }
    }
}

/// What a dead process left behind, for [`classify_death`].
pub struct DeathFacts<'a> {
    pub signal: Option<Signal>,
    pub exit_code: Option<i32>,
    pub stderr: &'a str,
    /// Host operation in progress when it died.
    pub host_call: Option<&'a str>,
    /// Panic messages its panic hook recorded.
    pub panics: &'a [String],
    /// Allocations its allocator refused.
    pub alloc_failures: u64,
}

/// Markers the Rust runtime and glibc print before they abort.
const STACK_OVERFLOW_MARK: &str = "has overflowed its stack";
const ALLOC_FAILED_MARK: &str = "memory allocation of";
const HEAP_CHECK_MARKS: &[&str] = &["double free", "free(): ", "malloc(): ", "corrupted", "realloc(): "];

/// The runtime and the C library print their last words just before they
/// abort: a marker counts only among the last few lines of stderr, so that
/// guest output earlier on cannot pass for them.
fn stderr_line<'a>(stderr: &'a str, mark: &str) -> Option<&'a str> {
    const LAST_WORDS: usize = 4;
    stderr.lines().rev().filter(|l| !l.trim().is_empty()).take(LAST_WORDS).find(|l| l.contains(mark)).map(str::trim)
}

/// Classifies how a process died. Native children and lost wasm workers
/// both end here.
pub fn classify_death(f: &DeathFacts<'_>) -> (FaultClass, Vec<String>) {
    let mut evidence = Vec::new();
    match (f.signal, f.exit_code) {
        (Some(s), _) => evidence.push(format!("killed by {s}")),
        (None, Some(code)) => evidence.push(format!("exited with code {code}")),
        (None, None) => {}
    }
    let overflow = stderr_line(f.stderr, STACK_OVERFLOW_MARK);
    if let Some(line) = overflow {
        evidence.push(format!("stderr: {line}"));
    }
    for p in f.panics {
        evidence.push(format!("panic hook: {}", panic_text(p)));
    }
    if f.alloc_failures > 0 {
        evidence.push(format!("the allocator refused {} allocation(s)", f.alloc_failures));
    }
    if let Some(op) = f.host_call {
        evidence.push(format!("died inside host call `{op}`: host code, outside any sandbox"));
        return (FaultClass::HostFault, evidence);
    }
    if overflow.is_some() {
        return (FaultClass::StackExhaustion, evidence);
    }
    let class = match f.signal {
        Some(Signal::SIGABRT) => {
            if f.alloc_failures > 0 {
                FaultClass::ResourceLimit
            } else if let Some(line) = stderr_line(f.stderr, ALLOC_FAILED_MARK) {
                evidence.push(format!("stderr: {line}"));
                FaultClass::ResourceLimit
            } else if !f.panics.is_empty() {
                FaultClass::Panic
            } else if let Some(line) = HEAP_CHECK_MARKS.iter().find_map(|m| stderr_line(f.stderr, m)) {
                evidence.push(format!("the C allocator's heap check: {line}"));
                FaultClass::MemoryFault
            } else {
                FaultClass::Abort
            }
        }
        Some(Signal::SIGXCPU) => FaultClass::Timeout,
        Some(s) => signal_class(s),
        None => FaultClass::Unknown,
    };
    (class, evidence)
}

/// The class a fatal signal stands for by itself, with no other fact about
/// the death (the renderers name both when the class decided differs).
pub fn signal_class(signal: Signal) -> FaultClass {
    match signal {
        Signal::SIGSEGV | Signal::SIGBUS => FaultClass::MemoryFault,
        Signal::SIGFPE => FaultClass::ArithmeticFault,
        Signal::SIGABRT | Signal::SIGILL | Signal::SIGTRAP => FaultClass::Abort,
        _ => FaultClass::Unknown,
    }
}

/// The fault class of one native bench cycle, from how its child ended:
/// the same rules as a compare's native run ([`classify_death`]), so a
/// guest panic is `panic` here too.
pub fn cycle_ending(e: &CycleEnding) -> FaultClass {
    let panics: &[String] = if e.panicked { std::slice::from_ref(&PANIC_SEEN) } else { &[] };
    match e.status {
        ChildStatus::Exited { code: 0 } if e.panicked => FaultClass::Panic,
        ChildStatus::Exited { code: 0 } => FaultClass::None,
        ChildStatus::Exited { code } => {
            classify_death(&DeathFacts { signal: None, exit_code: Some(code), stderr: "", host_call: None, panics, alloc_failures: 0 }).0
        }
        ChildStatus::Signaled { signal, .. } => {
            classify_death(&DeathFacts { signal: Some(signal), exit_code: None, stderr: "", host_call: None, panics, alloc_failures: 0 }).0
        }
    }
}

/// The panic a cycle's facts stand for (its message is not sent).
static PANIC_SEEN: String = String::new();

/// The fault class of one wasm bench or soak cycle: the same rules as a
/// compare's wasm run ([`wasm`]), so a guest panic (its hook's report, then
/// `unreachable`) is `panic` here too.
pub fn cycle_trap(c: &CycleTrap) -> FaultClass {
    match c.trap {
        None if c.refused_growth => FaultClass::ResourceLimit,
        None => FaultClass::None,
        Some(None) => FaultClass::Unknown,
        Some(Some(TrapCode::UnreachableCodeReached)) if c.guest_panic => FaultClass::Panic,
        Some(Some(TrapCode::UnreachableCodeReached)) if c.refused_growth => FaultClass::ResourceLimit,
        Some(Some(code)) => code.fault_class(),
    }
}

/// Fault class → cycles, from the counted facts of wasm cycles and native
/// cycles' children.
pub fn cycle_classes(traps: &[(CycleTrap, u64)], endings: &[(CycleEnding, u64)]) -> std::collections::BTreeMap<String, u64> {
    let mut classes = std::collections::BTreeMap::new();
    for (c, n) in traps {
        *classes.entry(cycle_trap(c).name().to_string()).or_default() += n;
    }
    for (e, n) in endings {
        *classes.entry(cycle_ending(e).name().to_string()).or_default() += n;
    }
    classes
}

/// How a dead process ended, as an outcome says it.
fn process_ending(status: ChildStatus) -> Ending {
    match status {
        ChildStatus::Signaled { signal, core_dumped } => Ending::Signaled { signal, core_dumped },
        ChildStatus::Exited { code } => Ending::Exited { code },
    }
}

/// Lines the Rust runtime prints when a panic cannot unwind (a panic in an
/// `extern "C"` function, a panic while panicking): its last words before
/// `abort()`.
const NO_UNWIND_MARKS: &[&str] = &["non-unwinding panic. aborting", "panicked while processing panic", "aborting due to panic at", "fatal runtime error"];

/// The fault a process had declared fatal before it was killed from
/// outside: the runtime's last words before it aborts (a stack overflow, a
/// refused allocation, a panic that cannot unwind). A panic alone is not
/// enough: it may be unwinding towards a `catch_unwind` when a destructor
/// hangs. `None` when nothing it left says it was already dying.
pub fn recorded_fault(f: &DeathFacts<'_>) -> Option<(FaultClass, Vec<String>)> {
    let (class, line) = if let Some(line) = stderr_line(f.stderr, STACK_OVERFLOW_MARK) {
        (FaultClass::StackExhaustion, line)
    } else if let Some(line) = stderr_line(f.stderr, ALLOC_FAILED_MARK) {
        (FaultClass::ResourceLimit, line)
    } else if let Some(line) = NO_UNWIND_MARKS.iter().find_map(|m| stderr_line(f.stderr, m)) {
        (FaultClass::Panic, line)
    } else {
        return None;
    };
    let mut evidence = vec![format!("stderr: {line}")];
    evidence.extend(f.panics.iter().map(|p| format!("panic hook: {}", panic_text(p))));
    // As in `classify_death`: a fault inside host code is the host's.
    if let Some(op) = f.host_call {
        evidence.push(format!("it was inside host call `{op}`: host code, outside any sandbox"));
        return Some((FaultClass::HostFault, evidence));
    }
    Some((class, evidence))
}

/// The message of a panic hook's text ("panicked at file:line:col:\n
/// message"): its last non-empty line.
fn panic_text(s: &str) -> &str {
    s.lines().filter(|l| !l.trim().is_empty()).last().unwrap_or(s).trim()
}

fn depth_evidence(progress: Option<Progress>) -> Option<String> {
    progress.map(|p| format!("last progress report: {} ({} reports)", p.last, p.reports))
}

fn tail_text(streams: &[(&str, &OutputTail)]) -> Option<String> {
    let parts: Vec<String> = streams
        .iter()
        .filter(|(_, t)| t.total_bytes > 0)
        .map(|(name, t)| {
            let kept = t.kept_bytes;
            if t.total_bytes > kept {
                format!("[{name}: {} bytes, last {kept} kept]\n{}", t.total_bytes, t.tail)
            } else {
                format!("[{name}]\n{}", t.tail)
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// Why a wasm run's fault class and ending are what they are: the facts
/// the decision rests on, in no engine's words. [`wasm_words`] writes the
/// English, with each engine's wording from its registry row.
#[derive(Clone, Debug, PartialEq)]
enum WasmReason {
    /// The guest's own recovery caught a fault and reported it.
    GuestRecovered { by: &'static str, message: String },
    Returned { value: i64 },
    Trapped { trap: TrapCode, message: String },
    /// A runtime printed its death on stderr and then aborted or exited.
    LastWords { line: String, exited: bool },
    GuestPanicHook { message: String },
    /// The call's CPU budget (or its wall-clock backstop) ran out.
    Budget { deadline: Deadline },
    Backtrace { frames: Vec<String> },
    HostError { message: String },
    HostPanic { message: String },
    /// The engine ended the call with an error that is not a trap.
    EngineError { message: String },
    Exited { code: i32, command: bool },
}

/// Decides a wasm run's fault class and ending from the observation.
fn decide_wasm(s: &Scenario, obs: &WasmObservation) -> (FaultClass, Ending, Vec<WasmReason>) {
    let lang = crate::language::descriptor(s.language);
    let mut why = Vec::new();
    let (fault, ending) = match &obs.ending {
        // The guest's own recovery caught a fault and reported it before
        // returning normally (Go's `recover`; a Rust guest's report comes
        // before a trap instead).
        WasmEnding::Completed { .. } if obs.guest_panic.is_some() => {
            let message = panic_text(obs.guest_panic.as_deref().unwrap_or_default()).to_string();
            why.push(WasmReason::GuestRecovered { by: lang.recovery, message: message.clone() });
            let fault = crate::language::recovered_class(lang.recovered, &message);
            (fault, Ending::Recovered { panic_message: message, by: lang.recovery.to_string() })
        }
        WasmEnding::Completed { value } => {
            why.push(WasmReason::Returned { value: *value });
            let fault = if obs.refused_growth.is_empty() { FaultClass::None } else { FaultClass::ResourceLimit };
            (fault, Ending::Completed { value: *value })
        }
        WasmEnding::Trapped { trap, message, frames } => {
            why.push(WasmReason::Trapped { trap: *trap, message: message.clone() });
            // A runtime that prints its death and then aborts (Go in a
            // reactor: `fatal error: …` or `panic: …`, then `unreachable`).
            let runtime_death = match trap {
                TrapCode::UnreachableCodeReached => crate::language::death_mark(lang.deaths, &obs.stderr.tail),
                _ => None,
            };
            let class = match (trap, obs.deadline) {
                (TrapCode::UnreachableCodeReached, _) if let Some((class, line)) = runtime_death => {
                    why.push(WasmReason::LastWords { line: line.to_string(), exited: false });
                    class
                }
                (TrapCode::UnreachableCodeReached, _) if obs.guest_panic.is_some() => {
                    let p = obs.guest_panic.as_deref().unwrap_or_default();
                    why.push(WasmReason::GuestPanicHook { message: panic_text(p).to_string() });
                    FaultClass::Panic
                }
                (TrapCode::UnreachableCodeReached, _) if !obs.refused_growth.is_empty() => FaultClass::ResourceLimit,
                // The run's CPU budget stopped it, whichever way the engine
                // is interrupted (an epoch, or fuel no longer given).
                (TrapCode::Interrupt | TrapCode::OutOfFuel, Some(deadline)) => {
                    why.push(WasmReason::Budget { deadline });
                    match deadline {
                        Deadline::Wall => FaultClass::Stalled,
                        Deadline::Cpu => FaultClass::Timeout,
                    }
                }
                (other, _) => other.fault_class(),
            };
            if !frames.is_empty() {
                why.push(WasmReason::Backtrace { frames: frames.clone() });
            }
            (class, Ending::Trapped { trap: *trap, message: message.clone(), frames: frames.clone() })
        }
        WasmEnding::HostError { message } => {
            why.push(WasmReason::HostError { message: message.clone() });
            (FaultClass::HostFault, Ending::HostError { message: message.clone() })
        }
        WasmEnding::HostPanic { message } => {
            why.push(WasmReason::HostPanic { message: message.clone() });
            (FaultClass::HostFault, Ending::HostPanic { message: message.clone() })
        }
        // The guest's run ended in an error the engine does not call a
        // trap: still this run's outcome, never a reason to drop the report.
        WasmEnding::Failed { message } => {
            why.push(WasmReason::EngineError { message: message.clone() });
            (FaultClass::Unknown, Ending::HostError { message: message.clone() })
        }
        // WASI `proc_exit(code)` (Go's `os.Exit`): the instance survives it.
        // Exit 0 is a normal end without a value; the runtime's fatal code
        // with its last words is that death; any other code is `exit`.
        WasmEnding::Exited { code } => {
            let command = matches!(&s.guest, crate::scenario::Guest::Prebuilt { module: Some(m), .. } if m.is_command());
            why.push(WasmReason::Exited { code: *code, command });
            // A runtime whose fatal exit code this is, with its last words
            // on stderr, died; any other code is an exit the guest chose.
            let died = (Some(*code) == lang.exit_codes.runtime_death)
                .then(|| crate::language::death_mark(lang.deaths, &obs.stderr.tail))
                .flatten();
            let fault = match died {
                Some((class, line)) => {
                    why.push(WasmReason::LastWords { line: line.to_string(), exited: true });
                    class
                }
                None if *code == 0 => FaultClass::None,
                None => FaultClass::Exit,
            };
            (fault, Ending::Exited { code: *code })
        }
    };
    (fault, ending, why)
}

/// The evidence sentence for one reason, in `model`'s engine's terms.
fn wasm_words(reason: &WasmReason, s: &Scenario, model: ExecutionModel, obs: &WasmObservation) -> String {
    let engine = model.wasm_engine().map(|e| e.row());
    let family = engine.map_or("the engine", |r| r.family.name());
    match reason {
        WasmReason::GuestRecovered { by, message } => format!("{by} caught it inside the instance and reported: {message}"),
        WasmReason::Returned { value } => format!("the call returned {value} ({value:#x}): no trap, no error"),
        WasmReason::Trapped { trap, message } => format!("trap {trap}: {message}"),
        WasmReason::LastWords { line, exited: false } => format!("its last words on stderr, before it aborted: {line}"),
        WasmReason::LastWords { line, exited: true } => format!("its last words on stderr, before it exited: {line}"),
        WasmReason::GuestPanicHook { message } => format!("the guest's panic hook reported: {message}"),
        WasmReason::Budget { deadline } => {
            let cpu = obs.call_cpu_us.map_or_else(String::new, |us| format!(" ({} ms of CPU in {} ms)", us / 1000, obs.call_us / 1000));
            match deadline {
                Deadline::Wall => format!(
                    "stalled: the {} ms wall-clock backstop passed before the {} ms CPU budget was spent{cpu}",
                    s.limits.wall_backstop().as_millis(),
                    s.limits.timeout_ms
                ),
                Deadline::Cpu => {
                    let how = engine.map_or("the engine was interrupted", |r| r.capabilities.interruption.how());
                    format!("the worker thread spent its {} ms CPU budget{cpu}: {how}", s.limits.timeout_ms)
                }
            }
        }
        WasmReason::Backtrace { frames } => {
            let shown: Vec<&str> = frames.iter().take(6).map(String::as_str).collect();
            let more = if frames.len() > 6 { " ← …" } else { "" };
            format!("wasm backtrace: {}{more}", shown.join(" ← "))
        }
        WasmReason::HostError { message } => format!("host function returned an error, which ended the guest call: {message}"),
        WasmReason::HostPanic { message } => match engine.map(|r| r.family) {
            // wasmi's handlers are `extern "sysv64"`: a panic may not unwind
            // through them, so each host function catches its own.
            Some(crate::registry::EngineFamily::Wasmi) => format!(
                "host function panicked ({message}); the worker caught it inside the host function, and wasmi ended the guest call with it as a host error"
            ),
            // A JavaScript host function throws: V8 unwinds the guest's
            // frames and the exception reaches the adapter's call site.
            Some(crate::registry::EngineFamily::V8) => format!(
                "host function threw ({message}); V8 unwound the guest frames and the exception reached the adapter's call into the instance"
            ),
            // wazero recovers a Go panic raised in a host function at the
            // call (its call engine's deferred recover) and returns it as
            // the call's error.
            Some(crate::registry::EngineFamily::Wazero) => format!(
                "host function panicked ({message}); wazero recovered the Go panic at the call and returned it to the adapter as the call's error"
            ),
            _ => format!(
                "host function panicked ({message}); {family} unwound the guest frames and the worker's catch_unwind took the panic at the embedder's call"
            ),
        },
        WasmReason::EngineError { message } => format!("{family} ended the run with an error that is not a trap: {message}"),
        WasmReason::Exited { code: 0, command: true } => {
            "exit 0: the WASI command returned from `_start` (or called proc_exit(0)): its normal end".to_string()
        }
        WasmReason::Exited { code, .. } => format!("proc_exit({code}): the guest ended its instance through WASI; no deferred code ran"),
    }
}

/// Classifies a wasm run that came back from the worker.
pub fn wasm(s: &Scenario, model: ExecutionModel, obs: &WasmObservation, wall_us: u64) -> anyhow::Result<Outcome> {
    let (fault, ending, reasons) = decide_wasm(s, obs);
    let mut evidence: Vec<String> = reasons.iter().map(|r| wasm_words(r, s, model, obs)).collect();
    if let Some(detail) = &obs.fault_detail {
        evidence.push(detail.clone());
    }
    evidence.extend(obs.refused_growth.iter().cloned());
    if let Some(op) = &obs.host_call {
        evidence.push(format!("the call ended inside host call `{op}`"));
    }
    evidence.extend(depth_evidence(obs.progress));

    let faulted = fault != FaultClass::None || !matches!(s.injects, FaultClass::None | FaultClass::Unknown);
    let (reuse, reuse_detail) = match &obs.reuse {
        None => (Reuse::NotChecked, vec!["the run ended before the scenario was called".to_string()]),
        Some(facts) => wasm_reuse(facts, faulted, &mut evidence),
    };
    let recovery_us = match reuse {
        Reuse::Reusable | Reuse::ReusableStateChanged => obs.health_us,
        _ => obs.fresh_context_us,
    };
    Ok(assemble(
        s,
        model,
        Settled {
            fault,
            ending,
            host_survived: true,
            killed: false,
            reuse,
            reuse_detail,
            recovery_us,
            progress: obs.progress,
            cost: Cost { wall_us, fault_us: Some(obs.call_us), cpu_us: obs.call_cpu_us, max_rss_kib: None },
            evidence,
            output_tail: tail_text(&[("guest output", &obs.output), ("guest stderr", &obs.stderr)]),
        },
    ))
}

/// What a classifier has settled; [`assemble`] derives the rest.
struct Settled {
    fault: FaultClass,
    ending: Ending,
    host_survived: bool,
    killed: bool,
    reuse: Reuse,
    reuse_detail: Vec<String>,
    recovery_us: Option<u64>,
    progress: Option<Progress>,
    cost: Cost,
    evidence: Vec<String>,
    output_tail: Option<String>,
}

/// Builds the outcome: the verdict, detection and classification follow
/// from the settled facts the same way for every model.
fn assemble(s: &Scenario, model: ExecutionModel, f: Settled) -> Outcome {
    Outcome {
        scenario: s.name.clone(),
        language: s.language,
        model,
        verdict: verdict(s.injects, f.fault, f.host_survived, f.killed, f.reuse),
        fault: f.fault,
        ending: f.ending,
        containment: Containment {
            host_survived: f.host_survived,
            detected: f.fault != FaultClass::None,
            // Injecting an unknown fault, a run is classified when the
            // model put a name to what it saw.
            classified: if s.injects == FaultClass::Unknown {
                !matches!(f.fault, FaultClass::None | FaultClass::Unknown)
            } else {
                f.fault == s.injects
            },
            reuse: f.reuse,
            reuse_detail: f.reuse_detail,
            recovery_us: f.recovery_us,
        },
        progress: f.progress,
        cost: f.cost,
        limits: s.limits.clone(),
        evidence: f.evidence,
        output_tail: f.output_tail,
        injection: None,
        defers: None,
    }
}

/// Decides reuse from the facts the worker gathered on the same instance.
/// State changes count only when a fault was involved: a clean call that
/// allocates is supposed to change memory.
fn wasm_reuse(f: &ReuseFacts, faulted: bool, evidence: &mut Vec<String>) -> (Reuse, Vec<String>) {
    let mut detail = Vec::new();
    let mut changed = false;
    if let Some((before, after)) = f.stack_pointer {
        if before != after {
            changed = true;
            if after > before {
                // The shadow stack grows down from `before`; a larger value
                // after the call means it wrapped below address 0.
                detail.push(format!(
                    "__stack_pointer {before:#x} -> {after:#x}: wrapped below 0, the shadow stack ran out"
                ));
                evidence.push("the shadow stack pointer wrapped below address 0: the shadow stack in linear memory ran out before the engine's stack".into());
            } else {
                detail.push(format!(
                    "__stack_pointer {before:#x} -> {after:#x}: not restored, {} bytes of shadow stack leaked",
                    before - after
                ));
            }
        } else {
            detail.push("__stack_pointer restored".into());
        }
    }
    if !f.globals_changed.is_empty() {
        changed = true;
        detail.push(format!("globals changed: {}", f.globals_changed.join(", ")));
    }
    let runs = |runs: &[(u32, u32)]| runs.iter().map(|(lo, hi)| format!("{lo:#x}..={hi:#x}")).collect::<Vec<_>>().join(", ");
    if f.memory_changed_bytes > 0 {
        detail.push(format!("{} bytes of live linear memory changed at {}", f.memory_changed_bytes, runs(&f.memory_changed_runs)));
        changed = true;
    }
    if f.dead_stack_changed_bytes > 0 {
        detail.push(format!(
            "{} bytes changed below the entry stack pointer, at {}: dead shadow stack, which no correct later call reads",
            f.dead_stack_changed_bytes,
            runs(&f.dead_stack_changed_runs)
        ));
    }
    if let Some((before, after)) = f.memory_size {
        if after != before {
            detail.push(format!("memory grew from {} KiB to {} KiB", before >> 10, after >> 10));
        }
    }
    let mut reuse = match &f.health {
        HealthCheck::Returned(v) if *v == HEALTH_OK => {
            detail.insert(0, "fb_health passed on the same instance".into());
            if changed && faulted { Reuse::ReusableStateChanged } else { Reuse::Reusable }
        }
        HealthCheck::Returned(v) => {
            detail.insert(0, format!("fb_health returned {v:#x}, not {HEALTH_OK:#x}"));
            Reuse::Unusable
        }
        HealthCheck::Failed(how) => {
            detail.insert(0, format!("fb_health failed on the same instance: {how}"));
            Reuse::Unusable
        }
        HealthCheck::Missing => {
            detail.insert(0, "the module has no fb_health export".into());
            Reuse::NotChecked
        }
    };
    // Further rounds of (scenario, fb_health) on the same instance: one
    // passing health check is not enough (a Go instance breaks a few rounds
    // after a trap), so a round that broke makes it unusable.
    if let Some(n) = f.rounds_healthy {
        detail.push(format!("{n} further round(s) of (scenario, fb_health) stayed healthy"));
    }
    if let Some(broke) = &f.rounds_broke {
        detail.push(format!("then the instance broke: {broke}"));
        reuse = Reuse::Unusable;
    }
    if let Some(stopped) = &f.rounds_stopped {
        detail.push(format!("then the rounds stopped: {stopped}"));
    }
    (reuse, detail)
}

/// How an exec'd program's death reads, by its language's descriptor: its
/// runtime's fatal exit code and last words, a signal as for any process,
/// and any other exit code as an exit the guest chose.
fn exec_death(lang: &crate::language::Descriptor, f: &DeathFacts<'_>) -> (FaultClass, Vec<String>) {
    let said = crate::language::death_mark(lang.deaths, f.stderr);
    match (f.signal, f.exit_code) {
        (Some(_), _) => classify_death(f),
        (None, Some(code)) if Some(code) == lang.exit_codes.runtime_death => match said {
            Some((class, line)) => (class, vec![format!("exit {code}, the {} runtime's fatal exit; stderr: {line}", lang.language)]),
            None => (FaultClass::Unknown, vec![format!("exit {code}, the {} runtime's fatal exit, without a message faultbox knows", lang.language)]),
        },
        (None, Some(code)) if Some(code) == lang.exit_codes.usage => {
            (FaultClass::Unknown, vec![format!("exit {code}: the {} program refused its arguments (a faultbox bug, not a fault)", lang.language)])
        }
        (None, Some(code)) => (
            FaultClass::Exit,
            vec![format!("exit {code}: the program ended itself without a runtime death message; no deferred code ran")],
        ),
        (None, None) => (FaultClass::Unknown, vec!["the process ended without a status".into()]),
    }
}

/// How a dlopen'd library's death reads: as any process's, by its signal
/// ([`classify_death`]); but a library has no runtime of faultbox's to
/// leave records, so when it aborted, the last words its language's
/// descriptor knows (glibc's heap checks, a guest's allocation-failure
/// line) decide the class.
fn library_death(lang: &crate::language::Descriptor, f: &DeathFacts<'_>) -> (FaultClass, Vec<String>) {
    let (class, mut evidence) = classify_death(f);
    if f.signal != Some(Signal::SIGABRT) || f.host_call.is_some() || class == FaultClass::StackExhaustion {
        return (class, evidence);
    }
    match crate::language::death_mark(lang.deaths, f.stderr) {
        Some((said, line)) => {
            if !evidence.iter().any(|e| e.contains(line)) {
                evidence.push(format!("stderr, before the abort: {line}"));
            }
            (said, evidence)
        }
        None => (class, evidence),
    }
}

/// Classifies a native run from the fork server's observation.
pub fn native(s: &Scenario, obs: &NativeObservation, wall_us: u64) -> Outcome {
    let lang = crate::language::descriptor(s.language);
    let r = &obs.report;
    let stderr = &obs.stderr.tail;
    let mut evidence = Vec::new();
    let (signal, exit_code) = match obs.status {
        ChildStatus::Signaled { signal, .. } => (Some(signal), None),
        ChildStatus::Exited { code } => (None, Some(code)),
    };
    let survived_scenario = matches!(r.stage, ChildStage::Completed | ChildStage::Recovered);
    // The host survived only if the process ended as faultbox's child ends
    // when all is well: exit 0. A scenario that returned and a process that
    // then died (in the health check, or a thread the guest left behind)
    // is a death.
    let exited_cleanly = obs.status == ChildStatus::Exited { code: 0 } && obs.killed_at.is_none();
    if survived_scenario && !exited_cleanly {
        evidence.push(match r.stage {
            ChildStage::Completed => "the scenario returned, then the process died".to_string(),
            _ => format!("{} caught a panic, then the process died", lang.recovery),
        });
    }
    let facts = DeathFacts {
        signal,
        exit_code,
        stderr,
        host_call: r.host_call.as_deref(),
        panics: &r.panics,
        alloc_failures: r.alloc_failures,
    };
    // A child that recorded a fatal fault and was then too slow to die
    // (a loaded machine, a slow abort path) is classified by that fault:
    // the deadline only finished what the fault started.
    let dying_of = match obs.killed_at {
        Some(_) if r.stage == ChildStage::Running => recorded_fault(&facts).or_else(|| {
            crate::language::death_mark(lang.deaths, stderr).map(|(class, line)| (class, vec![format!("stderr: {line}")]))
        }),
        _ => None,
    };
    // A child dying of a fault it recorded was not stopped from outside.
    let killed = obs.killed_at.is_some() && dying_of.is_none();
    let (fault, ending, host_survived) = if let (Some(deadline), Some((class, ev))) = (obs.killed_at, dying_of) {
        evidence.extend(ev);
        let recorded = r.fault_us.map_or_else(String::new, |us| format!(" {} ms into the scenario", us / 1000));
        evidence.push(format!(
            "the child recorded the fault{recorded} and was still dying when its {} ran out; the fork server killed it after {} ms ({} ms of CPU)",
            match deadline {
                Deadline::Cpu => "CPU budget",
                Deadline::Wall => "wall-clock backstop",
            },
            obs.wall_us / 1000,
            obs.cpu_us / 1000
        ));
        (class, process_ending(obs.status), false)
    } else if let Some(deadline) = obs.killed_at {
        let (cpu_ms, wall_ms) = (obs.cpu_us / 1000, obs.wall_us / 1000);
        let class = match deadline {
            Deadline::Cpu => {
                evidence.push(format!(
                    "still running after {cpu_ms} ms of CPU (budget {} ms): the fork server killed its process group",
                    s.limits.timeout_ms
                ));
                FaultClass::Timeout
            }
            Deadline::Wall => {
                evidence.push(format!(
                    "stalled: {wall_ms} ms passed (the wall-clock backstop) with only {cpu_ms} ms of CPU used of a {} ms budget; the fork server killed its process group",
                    s.limits.timeout_ms
                ));
                FaultClass::Stalled
            }
        };
        (class, Ending::TimedOut { deadline, cpu_ms, wall_ms }, false)
    } else if exited_cleanly && r.stage == ChildStage::NotStarted && s.language == crate::model::Language::Prebuilt {
        // A prebuilt program knows nothing of faultbox's report pipe: it ran
        // from start to end, and exit 0 is its normal end.
        evidence.push("exited with code 0: the program ran to its end".to_string());
        (FaultClass::None, Ending::Exited { code: 0 }, true)
    } else if exited_cleanly && survived_scenario {
        if let (ChildStage::Completed, Some(value)) = (r.stage, r.value) {
            evidence.push(format!("the scenario returned {value} ({value:#x}): no signal, no panic"));
        }
        let ending = match (r.stage, &r.handled) {
            // The program's own signal handler (Go's signal.Notify) took a
            // signal, and the scenario went on and returned.
            (ChildStage::Completed, Some(sig)) => {
                evidence.push(format!("{sig} arrived on the program's signal.Notify channel, and the scenario returned"));
                Ending::Recovered { panic_message: format!("{sig} received on a signal.Notify channel"), by: "signal.Notify".into() }
            }
            (ChildStage::Completed, None) => Ending::Completed { value: r.value.unwrap_or_default() },
            _ => Ending::Recovered {
                by: lang.recovery.to_string(),
                panic_message: r.panics.first().map(|p| panic_text(p).to_string()).unwrap_or_default(),
            },
        };
        let fault = if let Some(op) = &r.host_call {
            evidence.push(format!("the panic came out of host call `{op}` and unwound through the guest"));
            FaultClass::HostFault
        } else if r.stage == ChildStage::Recovered {
            crate::language::recovered_class(lang.recovered, r.panics.first().map(String::as_str).unwrap_or_default())
        } else if r.alloc_failures > 0 {
            FaultClass::ResourceLimit
        } else if r.handled.is_some() {
            FaultClass::ExternalSignal
        } else {
            FaultClass::None
        };
        if r.stage == ChildStage::Recovered {
            evidence.push(format!("{} caught it inside the process", lang.recovery));
            evidence.extend(r.panics.iter().map(|p| format!("recovered: {}", panic_text(p))));
        }
        if r.alloc_failures > 0 {
            evidence.push(format!(
                "the allocator refused {} allocation(s), the first of {} bytes (RLIMIT_AS)",
                r.alloc_failures, r.first_failed_alloc_bytes
            ));
        }
        (fault, ending, true)
    } else {
        let (class, ev) = match lang.native {
            crate::language::NativeLauncher::Exec { .. } => exec_death(lang, &facts),
            crate::language::NativeLauncher::Library => library_death(lang, &facts),
            _ => classify_death(&facts),
        };
        evidence.extend(ev);
        (class, process_ending(obs.status), false)
    };
    evidence.extend(depth_evidence(r.progress));
    if obs.strays_killed > 0 {
        evidence.push(format!("{} stray process(es) left behind were killed after the run", obs.strays_killed));
    }

    let (reuse, reuse_detail) = if !host_survived {
        (Reuse::Lost, vec!["the process died: everything it held is gone".to_string()])
    } else {
        match r.health {
            Some(v) if v == HEALTH_OK => (
                Reuse::Reusable,
                vec!["the process lives on; the guest's health check passed in it afterwards".to_string()],
            ),
            Some(v) => (Reuse::Unusable, vec![format!("the guest's health check returned {v:#x} in the same process")]),
            None if s.language == crate::model::Language::Prebuilt => {
                (Reuse::NotChecked, vec!["a prebuilt program has no health check: it ran once, to its end".to_string()])
            }
            // The child exits only after the health check has run.
            None => (Reuse::NotChecked, vec!["the health check left no result".to_string()]),
        }
    };
    let recovery_us = match reuse {
        Reuse::Reusable => r.health_us,
        _ => r.startup_us.map(|s| s + r.health_us.unwrap_or(0)),
    };
    // Go's native guest reports each deferred function as it starts; no
    // other guest does, so only there does an empty list mean none ran.
    let defers = (s.language == crate::model::Language::Go).then(|| r.defers.clone());
    if let Some(d) = &defers {
        evidence.push(if d.is_empty() { "no deferred function ran".to_string() } else { format!("deferred functions that ran: {}", d.join(", ")) });
    }
    let mut outcome = assemble(
        s,
        ExecutionModel::Native,
        Settled {
            fault,
            ending,
            host_survived,
            killed,
            reuse,
            reuse_detail,
            recovery_us,
            progress: r.progress,
            cost: Cost { wall_us, fault_us: r.call_us, cpu_us: Some(obs.cpu_us), max_rss_kib: Some(obs.max_rss_kib) },
            evidence,
            output_tail: tail_text(&[("stdout", &obs.stdout), ("stderr", &obs.stderr)]),
        },
    );
    outcome.defers = defers;
    outcome
}

/// A worker died or hung during the run: for wasm, the sandbox did not
/// hold; for native, the fork server itself was taken down.
pub fn worker_lost(s: &Scenario, model: ExecutionModel, lost: &Lost, wall_us: u64) -> Outcome {
    let host_call = lost.host_calls.last().map(String::as_str);
    let (fault, mut evidence) = if lost.hung {
        (FaultClass::Timeout, vec!["the worker stopped answering and was killed".to_string()])
    } else {
        classify_death(&DeathFacts {
            signal: lost.signal,
            exit_code: lost.exit_code,
            stderr: &lost.stderr.tail,
            host_call,
            panics: &[],
            alloc_failures: 0,
        })
    };
    let what = if model.is_wasm() {
        "the wasm worker process died: the whole embedding, not just the instance, is gone"
    } else {
        "the fork server died with the child it was watching"
    };
    evidence.insert(0, what.into());
    if let Some(over) = &lost.over_memory {
        evidence.push(over.to_string());
    }
    if let Some(last) = lost.stray_stdout.last() {
        evidence.push(format!("worker stdout, not protocol messages ({} lines kept), the last: {last}", lost.stray_stdout.len()));
    }
    assemble(
        s,
        model,
        Settled {
            fault,
            ending: Ending::WorkerLost { signal: lost.signal, exit_code: lost.exit_code, hung: lost.hung },
            host_survived: false,
            // A worker that stopped answering was stopped from outside.
            killed: lost.hung,
            reuse: Reuse::Lost,
            reuse_detail: vec![if model.is_wasm() {
                "the worker died with every instance it held".into()
            } else {
                "the fork server died, and the child with it".into()
            }],
            recovery_us: None,
            progress: None,
            cost: Cost { wall_us, ..Cost::default() },
            evidence,
            output_tail: tail_text(&[("worker stderr", &lost.stderr)]),
        },
    )
}

/// The model cannot run the scenario (a wasm-only module in the native model).
/// A wasm run whose module did not compile within its compile budget: the
/// guest never ran, so the model did not get to run the scenario.
pub fn not_compiled(s: &Scenario, model: ExecutionModel, budget: std::time::Duration, wall_us: u64) -> Outcome {
    let why = format!(
        "the module did not compile within its {} ms compile budget (not guest time): the guest never ran",
        budget.as_millis()
    );
    not_run(s, model, why, wall_us)
}

/// A wasm run whose module took more memory to compile than a compile may
/// (faultbox stopped its worker): the guest never ran.
pub fn not_compiled_in_memory(s: &Scenario, model: ExecutionModel, over: &crate::protocol::OverMemory, wall_us: u64) -> Outcome {
    let why = format!("the module did not compile within its memory bound (not guest memory): {over}; the guest never ran");
    not_run(s, model, why, wall_us)
}

/// A wasm run whose module the engine refused (compile or link): the guest
/// never ran.
pub fn refused(s: &Scenario, model: ExecutionModel, message: &str, wall_us: u64) -> Outcome {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    not_run(s, model, format!("the engine refused the module, so the guest never ran: {message}"), wall_us)
}

/// The language's artifact for `model` has no such entry (Go's wasm build
/// has no cgo scenarios): observed of the artifact, so the model cannot
/// run the scenario.
pub fn no_entry(s: &Scenario, model: ExecutionModel, why: String) -> Outcome {
    not_run(s, model, why, 0)
}

/// The language's toolchain is not on this machine: nothing ran.
pub fn skipped(s: &Scenario, model: ExecutionModel, why: &str) -> Outcome {
    let mut outcome = not_applicable(s, model);
    outcome.verdict = Verdict::Skipped;
    outcome.ending = Ending::Skipped { why: why.to_string() };
    outcome.evidence = vec![format!("skipped: {why}")];
    outcome
}

fn not_run(s: &Scenario, model: ExecutionModel, why: String, wall_us: u64) -> Outcome {
    let mut outcome = not_applicable(s, model);
    outcome.ending = Ending::NotApplicable { why: why.clone() };
    outcome.evidence = vec![why];
    outcome.cost.wall_us = wall_us;
    outcome
}

pub fn not_applicable(s: &Scenario, model: ExecutionModel) -> Outcome {
    let why = s.gap(model).unwrap_or_else(|| s.expectation(model).why.clone());
    Outcome {
        scenario: s.name.clone(),
        language: s.language,
        model,
        verdict: Verdict::NotApplicable,
        fault: FaultClass::None,
        ending: Ending::NotApplicable { why: why.clone() },
        containment: Containment {
            host_survived: true,
            detected: false,
            classified: false,
            reuse: Reuse::NotChecked,
            reuse_detail: Vec::new(),
            recovery_us: None,
        },
        progress: None,
        cost: Cost::default(),
        limits: s.limits.clone(),
        evidence: vec![why],
        output_tail: None,
        injection: None,
        defers: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn death(signal: Signal, stderr: &str) -> FaultClass {
        classify_death(&DeathFacts { signal: Some(signal), exit_code: None, stderr, host_call: None, panics: &[], alloc_failures: 0 }).0
    }

    #[test]
    fn child_deaths_are_classified_by_signal_and_what_the_runtime_printed() {
        assert_eq!(death(Signal::SIGSEGV, ""), FaultClass::MemoryFault);
        assert_eq!(death(Signal::SIGBUS, ""), FaultClass::MemoryFault);
        assert_eq!(death(Signal::SIGFPE, ""), FaultClass::ArithmeticFault);
        assert_eq!(death(Signal::SIGILL, ""), FaultClass::Abort);
        assert_eq!(death(Signal::SIGABRT, ""), FaultClass::Abort);
        assert_eq!(death(Signal::SIGKILL, ""), FaultClass::Unknown);
        let overflow = "\nthread 'fb-scenario' has overflowed its stack\nfatal runtime error: stack overflow, aborting\n";
        assert_eq!(death(Signal::SIGABRT, overflow), FaultClass::StackExhaustion);
        // Guest output long before the abort does not pass for the runtime's last words.
        let spoof = format!("{overflow}{}", "ordinary guest output\n".repeat(10));
        assert_eq!(death(Signal::SIGABRT, &spoof), FaultClass::Abort);
        assert_eq!(death(Signal::SIGABRT, "free(): double free detected in tcache 2\n"), FaultClass::MemoryFault);
        assert_eq!(death(Signal::SIGABRT, "memory allocation of 1048576 bytes failed\n"), FaultClass::ResourceLimit);
    }

    #[test]
    fn what_the_child_recorded_outranks_the_signal() {
        let panics = ["panicked at src/lib.rs:1:1:\nboom".to_string()];
        let class = |host_call, panics: &[String], alloc_failures| {
            let facts = DeathFacts { signal: Some(Signal::SIGABRT), exit_code: None, stderr: "", host_call, panics, alloc_failures };
            classify_death(&facts).0
        };
        assert_eq!(class(None, &panics, 0), FaultClass::Panic);
        assert_eq!(class(None, &[], 3), FaultClass::ResourceLimit);
        assert_eq!(class(Some("stack_overflow"), &panics, 0), FaultClass::HostFault);
    }

    #[test]
    fn a_fault_recorded_before_the_kill_is_what_the_process_was_dying_of() {
        let facts = |stderr: &'static str, panics: &'static [String]| DeathFacts {
            signal: Some(Signal::SIGKILL),
            exit_code: None,
            stderr,
            host_call: None,
            panics,
            alloc_failures: 0,
        };
        let class = |f: DeathFacts<'_>| recorded_fault(&f).map(|(c, _)| c);
        static PANIC: [String; 1] = [String::new()];
        let no_unwind = "thread 'main' panicked at src/lib.rs:1:1:\npanic in a function that cannot unwind\nthread caused non-unwinding panic. aborting.\n";
        let cases: &[(&str, &[String], Option<FaultClass>)] = &[
            ("thread 'main' has overflowed its stack\nfatal runtime error: stack overflow, aborting\n", &[], Some(FaultClass::StackExhaustion)),
            ("memory allocation of 1048576 bytes failed\n", &[], Some(FaultClass::ResourceLimit)),
            (no_unwind, &PANIC, Some(FaultClass::Panic)),
            // A panic that may still be unwinding towards catch_unwind is
            // not a death: a destructor that hangs makes it a runaway.
            ("", &PANIC, None),
            // Nothing recorded: the kill is the whole story (a runaway).
            ("ordinary output\n", &[], None),
            ("", &[], None),
        ];
        for (stderr, panics, expected) in cases {
            assert_eq!(class(facts(stderr, panics)), *expected, "stderr {stderr:?}, panics {panics:?}");
        }
        let in_host = DeathFacts { host_call: Some("stack_overflow"), ..facts("thread 'main' has overflowed its stack\n", &[]) };
        assert_eq!(class(in_host), Some(FaultClass::HostFault));
    }

    #[test]
    fn verdicts_follow_from_survival_detection_and_reuse() {
        use FaultClass::{MemoryFault as M, None as N};
        assert_eq!(verdict(N, N, true, false, Reuse::Reusable), Verdict::Ok);
        assert_eq!(verdict(M, N, true, false, Reuse::Reusable), Verdict::Undetected);
        assert_eq!(verdict(M, M, true, false, Reuse::Reusable), Verdict::Recovered);
        assert_eq!(verdict(M, M, true, false, Reuse::ReusableStateChanged), Verdict::Recovered);
        assert_eq!(verdict(M, M, true, false, Reuse::Unusable), Verdict::Contained);
        assert_eq!(verdict(M, M, false, false, Reuse::Lost), Verdict::Crashed);
        assert_eq!(verdict(M, FaultClass::Timeout, false, true, Reuse::Lost), Verdict::Killed);
        // A correct program that a model faults on failed, however well the host fared.
        assert_eq!(verdict(N, FaultClass::StackExhaustion, true, false, Reuse::Reusable), Verdict::Failed);
        // A prebuilt guest's fault is not known: clean is ok, a fault is
        // judged by what survived it.
        use FaultClass::Unknown as U;
        assert_eq!(verdict(U, N, true, false, Reuse::NotChecked), Verdict::Ok);
        assert_eq!(verdict(U, FaultClass::Abort, true, false, Reuse::NotChecked), Verdict::Contained);
        assert_eq!(verdict(U, FaultClass::Abort, true, false, Reuse::Reusable), Verdict::Recovered);
        assert_eq!(verdict(U, M, false, false, Reuse::Lost), Verdict::Crashed);
    }

    /// One passing health check is not enough: a round of (scenario,
    /// fb_health) that broke later makes the instance unusable.
    #[test]
    fn a_broken_reuse_round_makes_the_instance_unusable() {
        let facts = ReuseFacts {
            health: HealthCheck::Returned(HEALTH_OK),
            stack_pointer: None,
            globals_changed: vec![],
            memory_changed_bytes: 0,
            memory_changed_runs: vec![],
            dead_stack_changed_bytes: 0,
            dead_stack_changed_runs: vec![],
            memory_size: None,
            rounds_healthy: Some(10),
            rounds_broke: None,
            rounds_stopped: None,
        };
        assert_eq!(wasm_reuse(&facts, true, &mut vec![]).0, Reuse::Reusable);
        let broke = ReuseFacts { rounds_healthy: Some(3), rounds_broke: Some("round 4: fb_health failed".into()), ..facts.clone() };
        let (reuse, detail) = wasm_reuse(&broke, true, &mut vec![]);
        assert_eq!(reuse, Reuse::Unusable, "{detail:?}");
        // A round stopped by its budget is no evidence either way: the
        // health checks before it decide, and the detail says why fewer ran.
        let stopped = "round 10: the scenario call ran into its CPU budget and was stopped from outside".to_string();
        let stopped = ReuseFacts { rounds_healthy: Some(9), rounds_stopped: Some(stopped), ..facts };
        let (reuse, detail) = wasm_reuse(&stopped, true, &mut vec![]);
        assert_eq!(reuse, Reuse::Reusable, "{detail:?}");
        assert!(detail.iter().any(|d| d.contains("round 10: the scenario call ran into its CPU budget")), "{detail:?}");
    }
}
