//! One run, every format: `--export-*` writes the same run as stdout; the
//! JSON report follows the JSON Schema shipped in the repository, which is
//! generated from the report's types; and the command-line conventions
//! shared by every command.


use crate::common::schema::validate;
use crate::common::{FAULTBOX, Scratch};
use serde_json::Value;
use std::process::Command;

fn faultbox(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(FAULTBOX).args(args).env("NO_COLOR", "1").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = faultbox(args);
    assert_eq!(code, 0, "faultbox {args:?}: {err}");
    out
}

const SHIPPED_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/report.schema.json");

fn every_export_describes_the_same_run() {
    let dir = Scratch::new("exports");
    let (json, md, html) = (dir.0.join("r.json"), dir.0.join("r.md"), dir.0.join("r.html"));
    // stray_processes returns a pid natively: a value no two runs share.
    let table = ok(&[
        "compare",
        "--scenario",
        "stray_processes",
        "--model",
        "native",
        "--export-json",
        json.to_str().unwrap(),
        "--export-markdown",
        md.to_str().unwrap(),
        "--export-html",
        html.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let pid = report["scenarios"][0]["outcomes"]["native"]["ending"]["value"].as_i64().expect("a returned pid");
    let said = format!("= {pid}");
    for (what, text) in [
        ("stdout", table),
        ("markdown", std::fs::read_to_string(&md).unwrap()),
        ("html", std::fs::read_to_string(&html).unwrap()),
    ] {
        assert!(text.contains(&said), "{what} is not the run the JSON describes ({said}):\n{text}");
    }
}

fn an_export_path_that_cannot_be_written_is_bad_input_before_anything_runs() {
    let (code, _, err) = faultbox(&["compare", "--export-json", "/nonexistent-dir/r.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent-dir/r.json") && err.contains("cannot write the export"), "{err}");
}

fn the_shipped_schema_is_the_one_the_types_generate() {
    let generated = ok(&["schema"]);
    let shipped = std::fs::read_to_string(SHIPPED_SCHEMA).unwrap();
    assert!(
        generated == shipped,
        "schema/report.schema.json is stale: regenerate it with `faultbox schema > schema/report.schema.json`"
    );
}

fn the_json_report_follows_the_shipped_schema() {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(SHIPPED_SCHEMA).unwrap()).unwrap();
    // The full run's report: every scenario and model, and the stability
    // section of --repeat 2. Whether its outcomes match their manifests is
    // the load test's verdict, not the schema's.
    let report = &crate::common::full_run().json;
    assert_eq!(report["schema_version"], 2);
    let mut errors = Vec::new();
    validate(&schema, &schema, report, "$", &mut errors);
    assert!(errors.is_empty(), "the report breaks its schema:\n{}", errors.join("\n"));
    // The validator can fail: a report with a field the schema does not know.
    let mut broken = report.clone();
    broken["scenarios"][0]["outcomes"]["wasm"]["verdict"] = "fine".into();
    let mut errors = Vec::new();
    validate(&schema, &schema, &broken, "$", &mut errors);
    assert!(!errors.is_empty(), "an unknown verdict passed the schema");
}

fn outcomes_and_summaries_are_keyed_by_model_and_output_tails_are_capped() {
    let report: Value = serde_json::from_str(&ok(&["compare", "--scenario", "output_flood", "--format", "json"])).unwrap();
    let row = &report["scenarios"][0];
    for model in faultbox::model::ExecutionModel::ALL.map(|m| m.name()) {
        assert_eq!(row["outcomes"][model]["model"], model, "{row:#}");
        assert!(row["outcomes"][model]["why"].is_string());
        assert!(report["summary"]["per_model"][model].is_object(), "{:#}", report["summary"]);
    }
    let tail = row["outcomes"]["native"]["output_tail"].as_str().expect("the flood leaves a tail");
    assert!(tail.len() <= 2200, "a {} byte tail in the report", tail.len());
    assert!(tail.contains("earlier bytes cut"), "the cut is said");
}

fn explain_speaks_json_with_the_report_s_shape() {
    let report: Value = serde_json::from_str(&ok(&["explain", "null_write", "--format", "json", "--model", "wasm,native"])).unwrap();
    assert_eq!(report["schema_version"], 2);
    let outcomes = report["scenarios"][0]["outcomes"].as_object().unwrap();
    let mut models: Vec<&String> = outcomes.keys().collect();
    models.sort();
    assert_eq!(models, ["native", "wasm"]);
}

fn model_is_repeatable_and_comma_separated() {
    let a: Value =
        serde_json::from_str(&ok(&["run", "clean_run", "--language", "rust", "--model", "native,wasm-pulley", "--format", "json"])).unwrap();
    let b: Value = serde_json::from_str(&ok(&[
        "run", "clean_run", "--language", "rust", "--model", "native", "--model", "wasm-pulley", "--format", "json",
    ]))
    .unwrap();
    let models = |v: &Value| v.as_array().unwrap().iter().map(|o| o["model"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(models(&a), ["wasm-pulley", "native"], "in column order");
    assert_eq!(models(&a), models(&b));
}

fn run_check_exits_1_when_the_outcome_differs_from_its_manifest() {
    let dir = Scratch::new("run-check");
    let real = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/clean_run.toml")).unwrap();
    dir.file("clean_run.toml", &real);
    assert_eq!(faultbox(&["run", "clean_run", "--check", "--scenarios", dir.path()]).0, 0);
    let wrong = real.replacen("verdict = \"ok\"", "verdict = \"crashed\"", 1).replacen("fault = \"none\"", "fault = \"abort\"", 1);
    assert_ne!(wrong, real);
    dir.file("clean_run.toml", &wrong);
    assert_eq!(faultbox(&["run", "clean_run", "--check", "--scenarios", dir.path()]).0, 1);
    assert_eq!(faultbox(&["run", "clean_run", "--scenarios", dir.path()]).0, 0, "without --check, a report");
}

fn the_html_page_has_a_legend_a_sticky_header_a_filter_and_a_bar_per_model() {
    let html = ok(&["compare", "--scenario", "null_", "--format", "html"]);
    for (what, needle) in [
        ("the legend says what a verdict means", "<dt class=\"v-failed\">failed</dt><dd>a correct program"),
        ("the header stays while scrolling", "position: sticky"),
        ("a filter for the rows where the models differ", "#differ:checked ~ table.grid tr.same { display: none; }"),
        ("a summary bar per model", "<b>native</b><div class=\"bar\">"),
        ("details float over the grid", "details > .more { position: absolute"),
    ] {
        assert!(html.contains(needle), "{what}: `{needle}` missing");
    }
    // null_write: undetected in every wasm engine, crashed natively.
    assert!(!html.contains("<tr id=\"null_write-rust\" class=\"same\""), "the models differ on null_write");
    assert!(html.contains("<tr id=\"null_write-rust\"><td class=\"name\""), "a row per (scenario, language): {html}");
    assert!(html.contains("<td class=\"lang\">rust</td>"), "the language in a column of its own");
}

fn a_manifest_mismatch_is_named_in_the_headline_of_every_rendering() {
    let dir = Scratch::new("mismatch-headline");
    let real = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/clean_run.toml")).unwrap();
    let wrong = real.replacen("verdict = \"ok\"", "verdict = \"crashed\"", 1).replacen("fault = \"none\"", "fault = \"abort\"", 1);
    dir.file("clean_run.toml", &wrong);
    let args = ["compare", "--scenarios", dir.path(), "--model", "wasm"];
    let html = ok(&[&args[..], &["--format", "html"]].concat());
    assert!(html.contains("<li class=\"differs\">1 outcome differs from its manifest: clean_run [rust] / wasm</li>"), "{html}");
    let md = ok(&[&args[..], &["--format", "markdown"]].concat());
    assert!(md.contains("- 1 outcome differs from its manifest: clean_run [rust] / wasm"), "{md}");
    let table = ok(&args);
    assert!(table.contains("(!) 1 outcome differs from its manifest:"), "{table}");
}

/// A bench report whose every configuration took `median_us` per cycle.
fn fake_baseline(dir: &Scratch, median_us: f64) -> String {
    let mut names: Vec<&str> = faultbox::registry::ROWS.iter().map(|r| r.model).collect();
    names.extend(["native", "native-fork-exec", "native-floor"]);
    let configurations: Vec<Value> =
        names.iter().map(|n| serde_json::json!({"name": n, "cycle": {"median_us": median_us}})).collect();
    let path = dir.file(&format!("baseline-{median_us}.json"), &serde_json::json!({ "configurations": configurations }).to_string());
    path.to_str().unwrap().to_string()
}

fn bench_exits_1_when_slower_than_its_baseline() {
    let dir = Scratch::new("bench-baseline");
    let export = dir.0.join("bench.json");
    let fast = fake_baseline(&dir, 0.001);
    let (code, _, err) = faultbox(&["bench", "--iterations", "20", "--baseline", &fast, "--export-json", export.to_str().unwrap()]);
    assert_eq!(code, 1, "no cycle takes a nanosecond: {err}");
    assert!(err.contains("regressed beyond the noise threshold"), "{err}");
    // The export is itself a baseline; a slow one is met.
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert!(exported["configurations"][0]["cycle"]["median_us"].is_f64(), "{exported:#}");
    let slow = fake_baseline(&dir, 1e9);
    let (code, _, err) = faultbox(&["bench", "--iterations", "20", "--baseline", &slow]);
    assert_eq!(code, 0, "{err}");
}

fn soak_exits_by_its_growth_threshold() {
    let (code, _, err) = faultbox(&["soak", "--cycles", "2000", "--max-growth", "10000"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("within the --max-growth of 10000%"), "{err}");
}

/// The README's way to add a scenario: run it before writing what it
/// should do, paste what was observed, explain it.
fn a_manifest_without_expectations_runs_and_prints_them_ready_to_paste() {
    let dir = Scratch::new("unwritten");
    let head = "summary = \"a new fault\"\ncategory = \"memory\"\ninjects = \"memory_fault\"\n\n[guest.rust]\nentry = \"null_write\"\n";
    dir.file("my_fault.toml", head);
    let (code, out, err) = faultbox(&["run", "my_fault", "--model", "wasm,native", "--scenarios", dir.path()]);
    assert_eq!(code, 0, "{err}");
    let block = &out[out.find("[expect.rust.wasm]").unwrap_or_else(|| panic!("no block to paste:\n{out}"))..];
    assert!(block.contains("[expect.rust.native]\nverdict = \"crashed\"\nfault = \"memory_fault\"\nsignal = \"SIGSEGV\""), "{block}");
    let (code, _, err) = faultbox(&["run", "my_fault", "--check", "--scenarios", dir.path()]);
    assert_eq!(code, 1, "--check refuses a manifest without expectations: {err}");
    // Pasted as printed: it loads, and --check still refuses the TODOs.
    dir.file("my_fault.toml", &format!("{head}\n{block}"));
    let (code, _, err) = faultbox(&["run", "my_fault", "--model", "wasm,native", "--check", "--scenarios", dir.path()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`why` is still TODO"), "{err}");
    // Explained: it passes.
    dir.file("my_fault.toml", &format!("{head}\n{}", block.replace("why = \"TODO\"", "why = \"explained\"")));
    let (code, _, err) = faultbox(&["run", "my_fault", "--model", "wasm,native", "--check", "--scenarios", dir.path()]);
    assert_eq!(code, 0, "{err}");
}

crate::trials!(
    every_export_describes_the_same_run,
    an_export_path_that_cannot_be_written_is_bad_input_before_anything_runs,
    the_shipped_schema_is_the_one_the_types_generate,
    the_json_report_follows_the_shipped_schema,
    outcomes_and_summaries_are_keyed_by_model_and_output_tails_are_capped,
    explain_speaks_json_with_the_report_s_shape,
    model_is_repeatable_and_comma_separated,
    run_check_exits_1_when_the_outcome_differs_from_its_manifest,
    the_html_page_has_a_legend_a_sticky_header_a_filter_and_a_bar_per_model,
    a_manifest_mismatch_is_named_in_the_headline_of_every_rendering,
    bench_exits_1_when_slower_than_its_baseline,
    soak_exits_by_its_growth_threshold,
    a_manifest_without_expectations_runs_and_prints_them_ready_to_paste,
);
