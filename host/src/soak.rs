//! `faultbox soak`: many trap-and-recover cycles in one wasm worker,
//! watching the worker's resident memory. A runtime that leaks per trap, or
//! a pool that never gives memory back, shows up here.

use crate::limits::Limits;
use crate::outcome::FaultClass;
use crate::process::resident_kib;
use crate::wasm::ModuleCache;
use crate::wasm::cycle::TrapCycle;
use crate::wasm::EngineSpec;
use crate::model::ExecutionModel;
use crate::worker::protocol::ModuleSource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Supervisor → wasm worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SoakRequest {
    pub model: ExecutionModel,
    pub module: ModuleSource,
    pub export: String,
    pub arg: i64,
    pub limits: Limits,
    /// Stop after this many cycles...
    pub cycles: Option<u64>,
    /// ...or after this long.
    pub seconds: Option<u64>,
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SoakReport {
    pub model: ExecutionModel,
    pub cycles: u64,
    pub seconds: f64,
    /// Resident set before the first cycle, KiB.
    pub rss_start_kib: u64,
    /// After the warm-up (the first 1% of cycles, at most 10,000): the pool
    /// slots are resident by then.
    pub rss_warm_kib: u64,
    pub rss_end_kib: u64,
    /// From the warm mark to the end, percent.
    pub growth_percent: f64,
    /// (cycle, RSS KiB) at every tenth of the run.
    pub rss_samples: Vec<(u64, u64)>,
    /// Fault classes the cycles observed.
    pub classes: BTreeMap<String, u64>,
}

/// Runs the soak (in a wasm worker).
pub fn run(req: &SoakRequest, cache: &ModuleCache) -> anyhow::Result<SoakReport> {
    let cycle = TrapCycle::new(EngineSpec::new(req.model, req.limits.wasm_stack_kib), &req.module, &req.export, req.arg, &req.limits, cache)?
        .with_inline_drop();
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
    // Counted by index: no allocation inside the loop being measured.
    let mut counts = [0u64; FaultClass::Unknown as usize + 1];
    let mut rss_samples = Vec::new();
    let started = Instant::now();
    let mut done = 0u64;
    let mut progress = crate::worker::server::ProgressReporter::new();
    while done < planned && budget.is_none_or(|b| started.elapsed() < b) {
        let (class, _) = cycle.once()?;
        done += 1;
        progress.tick(done);
        counts[class as usize] += 1;
        if done == warmup {
            rss_warm_kib = resident_kib();
        }
        if done % sample_every == 0 {
            rss_samples.push((done, resident_kib()));
        }
    }
    let rss_end_kib = resident_kib();
    let classes = FaultClass::ALL
        .iter()
        .filter(|c| counts[**c as usize] > 0)
        .map(|c| (c.name().to_string(), counts[*c as usize]))
        .collect();
    Ok(SoakReport {
        model: req.model,
        cycles: done,
        seconds: started.elapsed().as_secs_f64(),
        rss_start_kib,
        rss_warm_kib,
        rss_end_kib,
        growth_percent: 100.0 * (rss_end_kib as f64 - rss_warm_kib as f64) / rss_warm_kib.max(1) as f64,
        rss_samples,
        classes,
    })
}

impl SoakReport {
    pub fn text(&self, scenario: &str) -> String {
        let classes: Vec<String> = self.classes.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let samples: Vec<String> = self.rss_samples.iter().map(|(c, k)| format!("{c}: {k}")).collect();
        format!(
            "soak: {} trap-and-recover cycles of {scenario} in one {} worker, {:.1} s ({:.0} cycles/s)\n\
             observed: {}\n\
             worker RSS: {} KiB before the first cycle, {} KiB after warm-up, {} KiB at the end: {:+.2}% since warm-up\n\
             RSS samples (cycle: KiB): {}\n",
            self.cycles,
            self.model,
            self.seconds,
            self.cycles as f64 / self.seconds.max(1e-9),
            classes.join(", "),
            self.rss_start_kib,
            self.rss_warm_kib,
            self.rss_end_kib,
            self.growth_percent,
            samples.join(", ")
        )
    }
}
