//! One scenario run, the same for every engine: a fresh instance, the
//! state snapshot, the call under its CPU budget, the diff and the health
//! check on the same instance, further reuse rounds, and what a fresh
//! instance costs instead.

use super::backend::{Backend, Called, Entry, Instance, Instantiated, describe};
use super::reuse;
use crate::protocol::{CycleTrap, HealthCheck, WasmEnding, WasmObservation, WasmRequest};
use crate::limits::Deadline;
use faultbox_guests::HEALTH_OK;
use std::time::{Duration, Instant};

/// Runs one scenario. `Err` means the worker could not set the run up.
pub fn run<B: Backend>(backend: &mut B, req: &WasmRequest) -> anyhow::Result<WasmObservation> {
    let budget = Duration::from_millis(req.limits.timeout_ms);
    match backend.instantiate(req)? {
        Instantiated::Ready(mut instance, us) => {
            let entry = Entry::of(&req.export);
            instance.check_entry(&entry).map_err(|e| anyhow::anyhow!("export `{}`: {e:#}", req.export))?;
            Ok(call_and_check(backend, instance, us, &entry, req, budget))
        }
        Instantiated::Failed { called, reports } => {
            let mut obs = observation(called.ending, reports, called.fault_detail, called.wall_us, 0);
            obs.deadline = called.deadline;
            Ok(obs)
        }
    }
}

fn call_and_check<B: Backend>(
    backend: &mut B,
    mut instance: B::Instance,
    instantiate_us: u64,
    entry: &Entry,
    req: &WasmRequest,
    budget: Duration,
) -> WasmObservation {
    let before = req.check_reuse.then(|| reuse::snapshot(&instance.state()));
    let called = instance.call(entry, req.arg, budget);
    let mut obs = observation(called.ending.clone(), instance.reports(), called.fault_detail.clone(), instantiate_us, called.wall_us);
    obs.call_cpu_us = Some(called.cpu_us);
    obs.deadline = called.deadline;
    let Some(before) = before else { return obs };

    let mut facts = reuse::compare(&instance.state(), &before);
    let t = Instant::now();
    facts.health = instance.health(budget);
    obs.health_us = Some(t.elapsed().as_micros() as u64);
    // Only a call that did not return is repeated: a trap or an exit
    // unwinds the wasm frames without the runtime's knowledge, while a
    // normal return (a recovered panic included) ran every deferred call on
    // the way out.
    let unwound = !matches!(obs.ending, WasmEnding::Completed { .. });
    if matches!(entry, Entry::Scenario(_)) && req.reuse_rounds > 0 && unwound && facts.health == HealthCheck::Returned(HEALTH_OK) {
        let rounds = reuse_rounds(&mut instance, entry, req.arg, req.reuse_rounds, budget);
        (facts.rounds_healthy, facts.rounds_broke, facts.rounds_stopped) = (Some(rounds.healthy), rounds.broke, rounds.stopped);
    }
    obs.reuse = Some(facts);
    // The snapshot and the faulted instance go before a fresh one is
    // made: never two instances' memory at once.
    drop(before);
    drop(instance);

    // What a plugin host that discards the instance would pay instead.
    let t = Instant::now();
    if let Ok(Instantiated::Ready(mut fresh, _)) = backend.instantiate(req) {
        fresh.health(budget);
        obs.fresh_context_us = Some(t.elapsed().as_micros() as u64);
    }
    obs
}

fn observation(
    ending: WasmEnding,
    reports: super::backend::GuestReports,
    fault_detail: Option<String>,
    instantiate_us: u64,
    call_us: u64,
) -> WasmObservation {
    WasmObservation {
        ending,
        progress: reports.progress,
        guest_panic: reports.guest_panic,
        refused_growth: reports.refused_growth,
        host_call: reports.host_call,
        fault_detail,
        reuse: None,
        deadline: None,
        instantiate_us,
        call_us,
        call_cpu_us: None,
        health_us: None,
        fresh_context_us: None,
        output: reports.output,
        stderr: reports.stderr,
    }
}

/// Lines a dying Go runtime (or any runtime) writes to stderr that say
/// why: the first of them in a stretch of stderr is quoted in
/// `ReuseFacts::rounds_broke`.
const KEY_LINES: &[&str] = &["panic: ", "fatal error: ", "runtime: ", "unexpected fault address ", "[signal "];

pub fn key_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| KEY_LINES.iter().any(|k| l.starts_with(k)))
}

/// How the reuse rounds went: `ReuseFacts::rounds_*`.
#[derive(Debug, PartialEq, Eq)]
pub struct Rounds {
    /// Rounds whose `fb_health` returned HEALTH_OK.
    pub healthy: u32,
    /// How the first round that did not ended.
    pub broke: Option<String>,
    /// Why the rounds stopped early without breaking.
    pub stopped: Option<String>,
}

/// Why a round is not evidence: its scenario call was stopped from
/// outside by `deadline`, the same sentence in every engine.
pub fn round_stopped(round: u32, deadline: Deadline) -> String {
    let budget = match deadline {
        Deadline::Cpu => "CPU budget",
        Deadline::Wall => "wall-clock backstop",
    };
    format!("round {round}: the scenario call ran into its {budget} and was stopped from outside, which says nothing of what the fault did to the instance")
}

/// After the scenario call and the health check on the same instance:
/// `rounds` more rounds of (scenario export, `fb_health`), each under its
/// own budget, until one breaks. The scenario call of a round may trap or
/// exit as it did the first time: only `fb_health` decides whether the
/// round was healthy. A round whose scenario call runs into its budget
/// ends the rounds without a verdict: a guest whose every round costs
/// more (Go's stack keeps what each trap abandoned, so it is copied ever
/// larger) would otherwise be called broken on a slow machine and
/// healthy on a fast one.
pub fn reuse_rounds<I: Instance>(instance: &mut I, entry: &Entry, arg: i64, rounds: u32, budget: Duration) -> Rounds {
    for round in 1..=rounds {
        let stderr_before = instance.reports().stderr.total_bytes;
        let Called { ending, deadline, .. } = instance.call(entry, arg, budget);
        if let Some(deadline) = deadline {
            return Rounds { healthy: round - 1, broke: None, stopped: Some(round_stopped(round, deadline)) };
        }
        let scenario = describe(&ending);
        let how = match instance.health(budget) {
            HealthCheck::Returned(v) if v == HEALTH_OK => continue,
            HealthCheck::Returned(v) => format!("{} returned {v:#x}", super::backend::HEALTH_EXPORT),
            HealthCheck::Failed(how) => format!("{} failed: {how}", super::backend::HEALTH_EXPORT),
            HealthCheck::Missing => return Rounds { healthy: round - 1, broke: None, stopped: None },
        };
        let mut broke = format!("round {round}: {how} (the scenario call before it: {scenario})");
        let stderr = instance.reports().stderr;
        if stderr.total_bytes > stderr_before {
            // The tail ends with this round's output; a key line from an
            // earlier round may be quoted if this round's was cut off.
            let new = (stderr.total_bytes - stderr_before).min(stderr.tail.len() as u64) as usize;
            let mut cut = stderr.tail.len() - new;
            while !stderr.tail.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Some(line) = key_line(&stderr.tail[cut..]) {
                broke.push_str(&format!("; stderr: {line}"));
            }
        }
        return Rounds { healthy: round - 1, broke: Some(broke), stopped: None };
    }
    Rounds { healthy: rounds, broke: None, stopped: None }
}

/// Where one fault-to-fresh-instance cycle's time went, ns.
#[derive(Clone, Copy, Debug, Default)]
pub struct CycleParts {
    pub instantiate_ns: u64,
    pub call_ns: u64,
    pub classify_ns: u64,
    pub drop_ns: u64,
}

/// One cycle through any backend (`bench`, `soak`): a fresh instance, the
/// call, how it ended (facts: `classify` decides), the instance dropped.
pub fn cycle_once<B: Backend>(backend: &mut B, req: &WasmRequest, entry: &Entry, budget: Duration) -> anyhow::Result<(CycleTrap, CycleParts)> {
    let t0 = Instant::now();
    let Instantiated::Ready(mut instance, _) = backend.instantiate(req)? else {
        anyhow::bail!("{}: the module did not instantiate", req.model);
    };
    instance.check_entry(entry)?;
    let t1 = Instant::now();
    let called = instance.call(entry, req.arg, budget);
    let t2 = Instant::now();
    let reports = instance.reports();
    let trap = match &called.ending {
        WasmEnding::Completed { .. } => None,
        WasmEnding::Trapped { trap, .. } => Some(Some(*trap)),
        _ => Some(None),
    };
    let ending = CycleTrap { trap, guest_panic: reports.guest_panic.is_some(), refused_growth: !reports.refused_growth.is_empty() };
    let t3 = Instant::now();
    drop(instance);
    let t4 = Instant::now();
    let ns = |a: Instant, b: Instant| (b - a).as_nanos() as u64;
    Ok((ending, CycleParts { instantiate_ns: ns(t0, t1), call_ns: ns(t1, t2), classify_ns: ns(t2, t3), drop_ns: ns(t3, t4) }))
}

/// The request a cycle repeats: the module's export under the limits,
/// without reuse checks or WASI.
pub fn cycle_request(model: crate::model::EngineConfig, module: &crate::protocol::ModuleSource, export: &str, arg: i64, limits: &crate::limits::Limits) -> WasmRequest {
    WasmRequest {
        model,
        module: module.clone(),
        export: export.to_string(),
        arg,
        limits: limits.clone(),
        check_reuse: false,
        wasi: false,
        reuse_rounds: 0,
        args: Vec::new(),
        inject: None,
    }
}
