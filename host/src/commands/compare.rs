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

/// The C scenarios behind the report's remedy section (the article's
/// claim 3 beside C run by wazero, `report::remedy`).
pub const REMEDY_SCENARIOS: [&str; 2] = ["null_write", "explicit_abort"];

/// The runs behind the remedy section: with a Go scenario selected and a
/// wazero configuration among `models`, the C guest's two faults in those
/// configurations, taken from `outcomes` where the selection ran them and
/// run now where it did not.
pub fn remedy(
    supervisor: &Supervisor,
    catalog: &crate::scenario::Catalog,
    selected: &[&Scenario],
    models: &[ExecutionModel],
    outcomes: &[Outcome],
    jobs: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let wazero: Vec<ExecutionModel> =
        models.iter().copied().filter(|m| m.wasm_engine().is_some_and(|e| e.family() == crate::registry::EngineFamily::Wazero)).collect();
    if wazero.is_empty() || !selected.iter().any(|s| s.language == crate::model::Language::Go) {
        return Ok(Vec::new());
    }
    let mut pairs: Vec<(&Scenario, ExecutionModel)> = Vec::new();
    let mut have: Vec<Outcome> = Vec::new();
    for name in REMEDY_SCENARIOS {
        let Some(s) = catalog.scenarios.iter().find(|s| s.name == name && s.language == crate::model::Language::C) else { continue };
        for m in &wazero {
            match outcomes.iter().find(|o| o.scenario == s.name && o.language == s.language && o.model == *m) {
                Some(o) => have.push(o.clone()),
                None => pairs.push((s, *m)),
            }
        }
    }
    let extra = crate::supervisor::parallel_map(&pairs, jobs, |(s, m)| supervisor.run(s, *m)).into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    have.extend(extra);
    Ok(have)
}
