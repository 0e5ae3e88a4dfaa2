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

/// The runs behind the report's remedy section (`report::remedy`): with a
/// Go scenario in the selection, the C guest's two faults in every wazero
/// configuration, taken from `outcomes` where the selection ran them and
/// run now where it did not.
pub fn remedy(
    supervisor: &Supervisor,
    catalog: &crate::scenario::Catalog,
    selected: &[&Scenario],
    outcomes: &[Outcome],
    jobs: usize,
) -> anyhow::Result<Vec<crate::report::remedy::RemedyRow>> {
    use crate::report::remedy;
    if !selected.iter().any(|s| s.language == crate::model::Language::Go) {
        return Ok(Vec::new());
    }
    let wazero: Vec<ExecutionModel> =
        crate::model::EngineConfig::of_family(crate::registry::EngineFamily::Wazero).map(ExecutionModel::from).collect();
    let mut pairs: Vec<(&Scenario, ExecutionModel)> = Vec::new();
    for name in remedy::SCENARIOS {
        let Some(s) = catalog.scenarios.iter().find(|s| s.name == name && s.language == crate::model::Language::C) else { continue };
        for m in &wazero {
            if !outcomes.iter().any(|o| o.scenario == s.name && o.language == s.language && o.model == *m) {
                pairs.push((s, *m));
            }
        }
    }
    let extra = crate::supervisor::parallel_map(&pairs, jobs, |(s, m)| supervisor.run(s, *m)).into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let mut rows = remedy::rows(outcomes.iter().chain(&extra));
    rows.sort_by_key(|r| (remedy::SCENARIOS.iter().position(|n| *n == r.scenario), r.model));
    Ok(rows)
}
