//! The spec's trap scripts (`../shared/spec-traps`, beside the workspace)
//! run in wasmi through `worker::wast::run_wasmi` and judged by the same
//! classifier as `faultbox wast`: no directive may disagree with the spec,
//! every skip names its reason, and most directives must actually run.

use faultbox::classify::wast::{Agreement, FileReport};
use faultbox::outcome::{FaultClass, TrapCode};
use faultbox::protocol::{Observed, WastRequest};
use faultbox::worker::wast::{run_wasmi, script};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SPEC_TRAPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/spec-traps");

/// The budget `faultbox wast` gives each directive.
const TIMEOUT_MS: u64 = 10_000;

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the spec scripts live in shared/ beside the workspace)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "wast") {
            out.push(path);
        }
    }
}

/// Every script of `dir`, run in wasmi and judged as `faultbox wast` does.
fn run_dir(dir: &str) -> Vec<FileReport> {
    let mut files = Vec::new();
    scripts(&Path::new(SPEC_TRAPS).join(dir), &mut files);
    assert!(!files.is_empty(), "no scripts under {SPEC_TRAPS}/{dir}");
    files
        .into_iter()
        .map(|path| {
            let text = script::check(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let request = WastRequest { path: path.clone(), timeout_ms: TIMEOUT_MS, text: Some(text) };
            let observation = run_wasmi(&request).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            FileReport::new(path, &observation)
        })
        .collect()
}

/// Counts, the skip reasons with theirs, and every disagreement, printed
/// (`--nocapture`) as the line `faultbox wast` would end with.
fn summarize(dir: &str, files: &[FileReport]) -> (usize, usize, usize, Vec<String>) {
    let (mut agree, mut disagree, mut skipped) = (0, 0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for j in files.iter().flat_map(|f| &f.directives) {
        match j.agreement {
            Agreement::Agree => agree += 1,
            Agreement::Disagree => {
                disagree += 1;
                disagreements.push(format!("{}:{} {} expected {:?}, observed {:?}", j.file.display(), j.line, j.kind, j.expected, j.observed));
            }
            Agreement::Skipped => {
                skipped += 1;
                if let Observed::Skipped { reason } = &j.observed {
                    *reasons.entry(reason.clone()).or_default() += 1;
                }
            }
        }
    }
    println!("wasmi {dir}: {} directives: {agree} agree, {disagree} disagree, {skipped} skipped", agree + disagree + skipped);
    for (reason, n) in &reasons {
        println!("  skipped {n}: {reason}");
    }
    for d in &disagreements {
        println!("  DISAGREE {d}");
    }
    (agree, disagree, skipped, disagreements)
}

fn check_dir(dir: &str, at_least_agree: usize) {
    let files = run_dir(dir);
    for f in &files {
        assert_eq!(f.worker_lost, None, "{}", f.file.display());
    }
    let (agree, disagree, _, disagreements) = summarize(dir, &files);
    for j in files.iter().flat_map(|f| &f.directives) {
        if let Observed::Skipped { reason } = &j.observed {
            assert!(!reason.trim().is_empty(), "{}:{}: a skip without a reason", j.file.display(), j.line);
        }
    }
    assert_eq!(disagree, 0, "{dir}: {disagreements:#?}");
    assert!(agree >= at_least_agree, "{dir}: only {agree} directives agreed");
}

fn every_wasm2_spec_directive_wasmi_runs_agrees() {
    check_dir("wasm2", 9_000);
}

fn every_wasm3_spec_directive_wasmi_runs_agrees() {
    check_dir("wasm3", 140);
}

/// Writes `text` to a script of its own and runs it in wasmi.
fn run_script(name: &str, text: &str, timeout_ms: u64) -> FileReport {
    let dir = std::env::temp_dir().join(format!("faultbox-wast-wasmi-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.wast"));
    std::fs::write(&path, text).unwrap();
    let observation = run_wasmi(&WastRequest { path: path.clone(), timeout_ms, text: None });
    let _ = std::fs::remove_dir_all(&dir);
    FileReport::new(path, &observation.unwrap())
}

fn a_loop_that_never_ends_is_stopped_at_its_cpu_budget_as_a_timeout() {
    let script = r#"(module (func (export "spin") (loop (br 0))))
(invoke "spin")
(assert_trap (module (func $spin (loop (br 0))) (start $spin)) "interrupt")
(module (func (export "fine") (result i32) (i32.const 1)))
(assert_return (invoke "fine") (i32.const 1))
"#;
    let report = run_script("spin", script, 200);
    for line in [2, 3] {
        let d = report.directives.iter().find(|d| d.line == line).unwrap();
        assert!(matches!(d.observed, Observed::Trapped { trap: TrapCode::Interrupt, .. }), "line {line}: {d:#?}");
        assert_eq!(d.fault, FaultClass::Timeout, "line {line}");
    }
    // The script goes on after each.
    let last = report.directives.last().unwrap();
    assert_eq!(last.agreement, Agreement::Agree, "{last:#?}");
}

/// faultbox's own scripts (`tests/wast`). `values.wast` is one GC and
/// exceptions module, skipped whole in wasmi; `traps.wast` runs but for its
/// custom-page-size module, which the profile keeps off.
fn the_projects_own_scripts_agree_in_wasmi() {
    let mut files = Vec::new();
    scripts(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast")), &mut files);
    let reports: Vec<FileReport> = files
        .into_iter()
        .map(|path| {
            let observation = run_wasmi(&WastRequest { path: path.clone(), timeout_ms: TIMEOUT_MS, text: None });
            FileReport::new(path, &observation.unwrap())
        })
        .collect();
    let (agree, disagree, _, disagreements) = summarize("tests/wast", &reports);
    assert_eq!(disagree, 0, "{disagreements:#?}");
    assert!(agree >= 15, "{agree}");
}

crate::trials!(
    every_wasm2_spec_directive_wasmi_runs_agrees,
    every_wasm3_spec_directive_wasmi_runs_agrees,
    a_loop_that_never_ends_is_stopped_at_its_cpu_budget_as_a_timeout,
    the_projects_own_scripts_agree_in_wasmi,
);
