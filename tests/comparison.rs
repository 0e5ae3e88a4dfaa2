//! The comparison suite: every scenario in every language and execution
//! model, the observed outcome checked against its manifest. One test per
//! (scenario, language, model), named `<scenario>::<language>::<model>`, so
//! that `cargo test -- null_write` runs one scenario everywhere and
//! `cargo test -- ::go::` every Go guest.
//!
//! A language whose toolchain (or an engine whose runtime) is missing makes
//! its trials ignored, with a note naming what to install; under `CI` the
//! supervisor refuses to skip, so its trials fail instead.

use faultbox::model::ExecutionModel;
use faultbox::outcome::{Outcome, Verdict};
use faultbox::report::run_detail;
use faultbox::scenario::{Catalog, Scenario};
use faultbox::supervisor::Supervisor;
use libtest_mimic::{Failed, Trial};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Trials planned to run, and trials that ran: the hygiene check uses the
/// comparison suite as its full compare when every planned trial ran.
static PLANNED: AtomicUsize = AtomicUsize::new(0);
static RAN: AtomicUsize = AtomicUsize::new(0);

/// Whether every (scenario, language, model) the suite planned ran.
pub fn ran_whole() -> bool {
    let planned = PLANNED.load(Ordering::SeqCst);
    planned > 0 && RAN.load(Ordering::SeqCst) == planned
}

fn check(supervisor: &Supervisor, s: &Scenario, model: ExecutionModel) -> Result<(), Failed> {
    RAN.fetch_add(1, Ordering::SeqCst);
    let outcome: Outcome = supervisor.run(s, model).map_err(|e| format!("faultbox failed: {e:#}"))?;
    if outcome.verdict == Verdict::Skipped {
        return Err(format!("{} ({}) in {model} was skipped after its trial was planned: {}", s.name, s.language, outcome.ending.label()).into());
    }
    let expected = s.expectation(model);
    let mismatches = s.mismatches(&outcome);
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} ({}) in {model} differs from {}:\n  - {}\n\nexpected: {}\nobserved:\n{}",
        s.name,
        s.language,
        s.manifest.display(),
        mismatches.join("\n  - "),
        serde_json::to_string(expected).unwrap(),
        run_detail(s, &outcome)
    )
    .into())
}

/// One trial per (scenario, language, model), run by `supervisor`.
pub fn trials(supervisor: &Arc<Supervisor>) -> Vec<Trial> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let catalog = Catalog::load(&dir).unwrap_or_else(|e| panic!("the catalog does not load: {e}"));
    let mut trials = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for s in catalog.scenarios {
        let s = Arc::new(s);
        for model in ExecutionModel::ALL {
            // A missing toolchain or engine runtime is known before the
            // run (under CI the request is an error instead, and the trial
            // fails): such a trial is ignored, never a pass.
            let skip = match Supervisor::request(&s, model) {
                Ok(Err(o)) if o.verdict == Verdict::Skipped => Some(o.ending.label()),
                _ => None,
            };
            match &skip {
                Some(why) => *skipped.entry(why.clone()).or_default() += 1,
                None => _ = PLANNED.fetch_add(1, Ordering::SeqCst),
            }
            let (s, supervisor) = (s.clone(), supervisor.clone());
            let trial = Trial::test(format!("{}::{}::{model}", s.name, s.language), move || check(&supervisor, &s, model));
            trials.push(trial.with_ignored_flag(skip.is_some()));
        }
    }
    for (why, n) in skipped {
        eprintln!("note: {n} comparison trial(s) ignored: {why}");
    }
    trials
}
