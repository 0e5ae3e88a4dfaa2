//! `faultbox compare`, `run` and `explain`: scenarios run in models, every
//! ending classified into an outcome. The reports are built from these by
//! `report`; the exit code is the cli's.

use crate::model::ExecutionModel;
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::supervisor::Supervisor;

/// Runs every (scenario, model) pair on `jobs` threads, the whole selection
/// `repeat` times (to find outcomes that change between runs). One run per
/// repetition, each in input order: scenarios outer, models inner.
pub fn compare(
    supervisor: &Supervisor,
    scenarios: &[&Scenario],
    models: &[ExecutionModel],
    jobs: usize,
    repeat: u32,
) -> anyhow::Result<Vec<Vec<Outcome>>> {
    let mut runs = Vec::new();
    let progress = (repeat > 1).then(|| super::progress::Progress::new("runs of the selection", repeat.into()));
    for _ in 0..repeat {
        runs.push(supervisor.run_all(scenarios, models, jobs)?);
        progress.iter().for_each(|p| p.inc());
    }
    Ok(runs)
}

/// `faultbox run`: one scenario in each of `models`, one after another.
pub fn run(supervisor: &Supervisor, s: &Scenario, models: &[ExecutionModel]) -> anyhow::Result<Vec<Outcome>> {
    models.iter().map(|m| supervisor.run(s, *m)).collect()
}

/// `faultbox explain`: one scenario in each of `models`, in parallel.
pub fn explain(supervisor: &Supervisor, s: &Scenario, models: &[ExecutionModel], jobs: usize) -> anyhow::Result<Vec<Outcome>> {
    supervisor.run_all(&[s], models, jobs)
}
