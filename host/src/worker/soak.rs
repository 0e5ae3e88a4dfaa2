//! `faultbox soak`, the worker's side: many trap-and-recover cycles in one
//! wasm worker, watching the worker's resident memory. A runtime that leaks
//! per trap, or a pool that never gives memory back, shows up here.

use crate::process::resident_kib;
use crate::protocol::{CycleTrap, SoakReport, SoakRequest};
use crate::wasm::EngineSpec;
use crate::wasm::ModuleCache;
use crate::wasm::backend::{Backend, Entry};
use crate::wasm::cycle::TrapCycle;
use crate::wasm::run::{cycle_once, cycle_request};
use std::time::{Duration, Instant};

/// Runs the soak in a wasmtime worker: its pooled cycle, each store
/// dropped inside the cycle so that the memory readings do not depend on
/// a reaper's backlog.
pub fn run(req: &SoakRequest, cache: &ModuleCache) -> anyhow::Result<SoakReport> {
    let cycle = TrapCycle::new(EngineSpec::new(req.model, req.limits.wasm_stack_kib), &req.module, &req.export, req.arg, &req.limits, cache)?
        .with_inline_drop();
    soak(req, || cycle.once().map(|(ending, _)| ending))
}

/// Runs the soak through any backend (a fresh instance per cycle).
pub fn run_backend<B: Backend>(req: &SoakRequest, backend: &mut B) -> anyhow::Result<SoakReport> {
    let request = cycle_request(req.model, &req.module, &req.export, req.arg, &req.limits);
    if let Err(why) = backend.prepare(&request)? {
        anyhow::bail!("{} refused the soak module: {why}", req.model);
    }
    let (entry, budget) = (Entry::of(&req.export), Duration::from_millis(req.limits.timeout_ms));
    soak(req, || cycle_once(backend, &request, &entry, budget).map(|(ending, _)| ending))
}

fn soak(req: &SoakRequest, mut once: impl FnMut() -> anyhow::Result<CycleTrap>) -> anyhow::Result<SoakReport> {
    let budget = req.seconds.map(Duration::from_secs);
    let planned = req.cycles.unwrap_or(u64::MAX);
    let warmup = match req.cycles {
        Some(n) => (n / 100).clamp(1, 10_000),
        None => 10_000,
    };
    let sample_every = match req.cycles {
        Some(n) => (n / 10).max(1),
        None => 100_000,
    };
    let rss_start_kib = resident_kib();
    let mut rss_warm_kib = rss_start_kib;
    // Counted in room made beforehand: no allocation inside the loop being
    // measured (a cycle ends one or two ways, not 64).
    let mut traps: Vec<(CycleTrap, u64)> = Vec::with_capacity(64);
    let mut rss_samples = Vec::new();
    let started = Instant::now();
    let mut done = 0u64;
    let mut progress = super::server::ProgressReporter::new();
    while done < planned && budget.is_none_or(|b| started.elapsed() < b) {
        let ending = once()?;
        done += 1;
        progress.tick(done);
        match traps.iter_mut().find(|(e, _)| *e == ending) {
            Some((_, n)) => *n += 1,
            None => traps.push((ending, 1)),
        }
        if done == warmup {
            rss_warm_kib = resident_kib();
        }
        if done % sample_every == 0 {
            rss_samples.push((done, resident_kib()));
        }
    }
    let rss_end_kib = resident_kib();
    Ok(SoakReport {
        model: req.model.into(),
        cycles: done,
        seconds: started.elapsed().as_secs_f64(),
        rss_start_kib,
        rss_warm_kib,
        rss_end_kib,
        growth_percent: 100.0 * (rss_end_kib as f64 - rss_warm_kib as f64) / rss_warm_kib.max(1) as f64,
        rss_samples,
        classes: Default::default(),
        traps,
    })
}

