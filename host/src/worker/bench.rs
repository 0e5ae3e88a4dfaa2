//! `faultbox bench`, the workers' side: the cycles run inside the worker (a
//! wasm worker, the fork server), so no protocol round trip is counted.
//! The worker reports facts (samples, how children ended); the supervisor
//! classifies and computes the statistics (`commands::bench`).

use crate::native::{ForkServer, ServerError};
use crate::outcome::Signal;
use crate::protocol::{BenchRequest, BenchSamples, ChildStatus, CycleEnding, WasmRequest};
use crate::wasm::backend::{Backend, Entry};
use crate::wasm::run::{cycle_once, cycle_request};
use crate::wasm::cycle::{TrapCycle, compile_times};
use crate::wasm::{EngineSpec, ModuleCache};
use std::time::{Duration, Instant};

/// Runs a wasm bench request (in the wasm worker).
pub fn serve_wasm(req: &BenchRequest, cache: &ModuleCache) -> anyhow::Result<Vec<BenchSamples>> {
    match req {
        BenchRequest::WasmCycles { configs, module, export, arg, limits, iterations } => {
            let cycles = configs
                .iter()
                .map(|c| {
                    let mut spec = EngineSpec::new(c.model, limits.wasm_stack_kib);
                    spec.backtraces = c.backtraces;
                    TrapCycle::new(spec, module, export, *arg, limits, cache)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut out = vec![BenchSamples::default(); cycles.len()];
            let mut progress = super::server::ProgressReporter::new();
            for i in 0..*iterations {
                progress.tick(i as u64);
                for (cycle, samples) in cycles.iter().zip(out.iter_mut()) {
                    let t = Instant::now();
                    let (class, parts) = cycle.once()?;
                    samples.record(t.elapsed().as_nanos() as u64, class);
                    samples.part("instantiate", parts.instantiate_ns);
                    samples.part("call_to_trap", parts.trap_ns);
                    samples.part("classify", parts.classify_ns);
                    samples.part("hand_over", parts.hand_over_ns);
                }
            }
            for (cycle, samples) in cycles.iter().zip(out.iter_mut()) {
                // Off the cycle, on the reaper thread.
                for ns in cycle.take_drop_times() {
                    samples.part("reaper_drop", ns);
                }
            }
            Ok(out)
        }
        BenchRequest::WasmCompile { model, module, wasm_stack_kib } => {
            let (compile, load) = compile_times(EngineSpec::new(*model, *wasm_stack_kib), module, cache)?;
            let mut out = BenchSamples::default();
            out.part("compile", compile);
            out.part("cache_load", load);
            Ok(vec![out])
        }
        other => anyhow::bail!("the wasm worker does not run {other:?}"),
    }
}

/// Runs a wasm bench request through any [`Backend`] (in that engine's
/// worker): a fresh instance, the faulting call, the instance dropped,
/// each timed. Without a pool or a reaper of its own, the drop is part of
/// the cycle, as it is for a plugin host using that engine.
pub fn serve_backend<B: Backend>(req: &BenchRequest, backend: &mut B) -> anyhow::Result<Vec<BenchSamples>> {
    match req {
        BenchRequest::WasmCycles { configs, module, export, arg, limits, iterations } => {
            let requests: Vec<WasmRequest> = configs.iter().map(|c| cycle_request(c.model, module, export, *arg, limits)).collect();
            for r in &requests {
                if let Err(why) = backend.prepare(r)? {
                    anyhow::bail!("{} refused the bench module: {why}", r.model);
                }
            }
            let entry = Entry::of(export);
            let budget = Duration::from_millis(limits.timeout_ms);
            let mut out = vec![BenchSamples::default(); requests.len()];
            let mut progress = super::server::ProgressReporter::new();
            for i in 0..*iterations {
                progress.tick(i as u64);
                for (r, samples) in requests.iter().zip(out.iter_mut()) {
                    let t = Instant::now();
                    let (ending, parts) = cycle_once(backend, r, &entry, budget)?;
                    samples.record(t.elapsed().as_nanos() as u64, ending);
                    samples.part("instantiate", parts.instantiate_ns);
                    samples.part("call_to_trap", parts.call_ns);
                    samples.part("classify", parts.classify_ns);
                    samples.part("drop", parts.drop_ns);
                }
            }
            Ok(out)
        }
        BenchRequest::WasmCompile { model, module, wasm_stack_kib } => {
            let mut limits = crate::limits::Limits::default();
            limits.wasm_stack_kib = *wasm_stack_kib;
            let t = Instant::now();
            if let Err(why) = backend.prepare(&cycle_request(*model, module, "", 0, &limits))? {
                anyhow::bail!("{model} refused the bench module: {why}");
            }
            let mut out = BenchSamples::default();
            out.part("compile", t.elapsed().as_nanos() as u64);
            Ok(vec![out])
        }
        other => anyhow::bail!("the wasm worker does not run {other:?}"),
    }
}

/// Runs a native bench request (in the fork server). A termination signal
/// ends it like any other fork-server work.
pub fn serve_native(req: &BenchRequest, server: &mut ForkServer) -> Result<Vec<BenchSamples>, ServerError> {
    use std::os::unix::process::ExitStatusExt;
    let failed = |e: std::io::Error| ServerError::Failed(format!("fork+exec: {e}"));
    match req {
        BenchRequest::NativeCycles { request, exe, iterations } => {
            let json = serde_json::to_string(request).expect("requests serialize");
            let limit = Duration::from_millis(request.limits.timeout_ms);
            let ending = |status: ChildStatus, panicked: bool| CycleEnding { status, panicked };
            let (mut fork, mut exec, mut floor) = (BenchSamples::default(), BenchSamples::default(), BenchSamples::default());
            let mut progress = super::server::ProgressReporter::new();
            let cycles = crate::native::ExecCycles::new().map_err(|e| ServerError::Failed(format!("fork+exec: {e:#}")))?;
            for i in 0..*iterations {
                progress.tick(i as u64);
                if let Some(code) = server.pending_termination() {
                    return Err(ServerError::Terminated(code));
                }
                let (ns, status) = server.fork_floor()?;
                floor.record_ending(ns, ending(status, false));

                let t = Instant::now();
                let obs = server.run(request)?;
                fork.record_ending(t.elapsed().as_nanos() as u64, ending(obs.status, !obs.report.panics.is_empty()));
                let parts = server.last_cycle();
                fork.part("prepare", parts.prepare_ns);
                fork.part("fork", parts.fork_ns);
                fork.part("child_start", parts.child_start_ns);
                fork.part("child_setup", parts.child_setup_ns);
                fork.part("scenario_start", parts.scenario_start_ns);
                fork.part("fault_to_death_seen", parts.fault_to_death_seen_ns);
                fork.part("reap", parts.reap_ns);

                let t = Instant::now();
                let (status, report) = cycles.run(exe, &json, limit).map_err(failed)?;
                let status = match (status.signal(), status.code()) {
                    (Some(signal), _) => ChildStatus::Signaled { signal: Signal(signal), core_dumped: status.core_dumped() },
                    (None, code) => ChildStatus::Exited { code: code.unwrap_or(-1) },
                };
                exec.record_ending(t.elapsed().as_nanos() as u64, ending(status, !report.panics.is_empty()));
            }
            Ok(vec![fork, exec, floor])
        }
        BenchRequest::TrapFloor { iterations } => {
            let mut out = BenchSamples::default();
            if let Some((ud2, segv)) = crate::native::probe::trap_round_trips(*iterations) {
                out.parts_ns.insert("ud2_sigill".into(), ud2);
                out.parts_ns.insert("unmapped_load_sigsegv".into(), segv);
            }
            Ok(vec![out])
        }
        other => Err(ServerError::Failed(format!("the fork server does not run {other:?}"))),
    }
}

