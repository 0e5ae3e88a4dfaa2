//! The comparison suite: every scenario in every language and execution
//! model, the observed outcome checked against its manifest. One test per
//! (scenario, language, model), named `<scenario>::<language>::<model>`, so
//! that `cargo test -- null_write` runs one scenario everywhere and
//! `cargo test -- ::go::` every Go guest.
//!
//! A language whose toolchain is missing is reported as skipped (its tests
//! pass with a note); under `CI` the supervisor refuses to skip, so its
//! tests fail instead.

use faultbox::model::ExecutionModel;
use faultbox::outcome::Outcome;
use faultbox::report::run_detail;
use faultbox::scenario::{Catalog, Scenario};
use faultbox::supervisor::Supervisor;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn check(supervisor: &Supervisor, s: &Scenario, model: ExecutionModel) -> Result<(), Failed> {
    let outcome: Outcome = supervisor.run(s, model).map_err(|e| format!("faultbox failed: {e:#}"))?;
    if outcome.verdict == faultbox::outcome::Verdict::Skipped {
        eprintln!("note: {} ({}) in {model} skipped: {}", s.name, s.language, outcome.ending.label());
        return Ok(());
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

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let catalog = Catalog::load(&dir).unwrap_or_else(|e| panic!("the catalog does not load: {e}"));
    let supervisor = Arc::new(Supervisor::new(PathBuf::from(env!("CARGO_BIN_EXE_faultbox"))));
    let mut trials = Vec::new();
    for s in catalog.scenarios {
        let s = Arc::new(s);
        for model in ExecutionModel::ALL {
            let (s, supervisor) = (s.clone(), supervisor.clone());
            trials.push(Trial::test(format!("{}::{}::{model}", s.name, s.language), move || check(&supervisor, &s, model)));
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    supervisor.pool().shutdown();
    conclusion.exit();
}
