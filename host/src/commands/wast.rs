//! `faultbox wast`: spec-test scripts run in a wasm worker, each directive
//! compared with what the script expects (`classify::wast`).

use crate::classify::wast::WastReport;
use crate::model::EngineConfig;
use crate::supervisor::{Supervisor, parallel_map};
use std::path::PathBuf;

/// Runs `scripts` (each a path and the text the supervisor read and checked
/// from it: the worker runs this text) in `engine`, on `jobs` threads.
pub fn wast(supervisor: &Supervisor, scripts: &[(PathBuf, String)], engine: EngineConfig, jobs: usize) -> anyhow::Result<WastReport> {
    let progress = super::progress::Progress::new("scripts", scripts.len() as u64);
    let reports = parallel_map(scripts, jobs, |(f, text)| {
        let r = supervisor.run_wast_text(f, text.clone(), engine);
        progress.inc();
        r
    })
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    drop(progress);
    Ok(WastReport::new(engine.into(), reports))
}

/// Each script and the Wasm 3.0 proposals its modules use.
pub type ScriptProposals = Vec<(PathBuf, Vec<crate::registry::Proposal>)>;

/// `faultbox wast --agreement`: the same scripts in every one of
/// `engines`, and the proposals each script uses (the report groups by
/// them).
pub fn agreement(
    supervisor: &Supervisor,
    scripts: &[(PathBuf, String)],
    engines: &[EngineConfig],
    jobs: usize,
) -> anyhow::Result<(ScriptProposals, Vec<WastReport>)> {
    let groups = scripts
        .iter()
        .map(|(f, text)| crate::worker::wast::script::proposals(f, text).map(|p| (f.clone(), p)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut reports = Vec::new();
    for engine in engines {
        reports.push(wast(supervisor, scripts, *engine, jobs)?);
    }
    Ok((groups, reports))
}
