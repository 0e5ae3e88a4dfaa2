//! `faultbox wast`: spec-style scripts, classified and checked for
//! agreement with the spec's messages, in every wasm model and both
//! feature profiles.

use std::process::Command;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast");
const WASM2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast/traps.wast");
const WASM3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast/wasm3.wast");
const VALUES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast/values.wast");
/// Every wasm engine configuration of the registry.
const MODELS: [&str; faultbox::registry::ROWS.len()] = faultbox::registry::MODEL_NAMES;

/// The configurations that implement every Wasm 3.0 proposal: the exact
/// counts below hold for them. The others are held to named skips by
/// `an_engine_skips_only_what_it_lacks_and_says_why`.
fn complete_models() -> impl Iterator<Item = &'static str> {
    faultbox::registry::ROWS.iter().filter(|r| r.capabilities.lacks.is_empty()).map(|r| r.model)
}

fn wast(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(FAULTBOX).arg("wast").args(args).args(["--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// The trap code observed for the directive at `line` of the only file.
fn observed_at(report: &serde_json::Value, line: u64) -> String {
    let d = report["files"][0]["directives"].as_array().unwrap().iter().find(|d| d["line"] == line);
    let d = d.unwrap_or_else(|| panic!("no directive at line {line}: {report:#}"));
    assert_eq!(d["observed"]["kind"], "trapped", "line {line}: {d:#}");
    d["observed"]["trap"].as_str().unwrap_or_else(|| panic!("line {line}: {d:#}")).to_string()
}

fn every_wasm2_trap_message_agrees_in_every_wasm_model() {
    for model in MODELS {
        let (code, report, stderr) = wast(&[WASM2, "--model", model]);
        assert_eq!(code, 0, "{model}: {stderr}");
        // 11 assert_trap, 1 assert_exhaustion, 1 module; the module that
        // needs custom page sizes and its assert_trap are skipped.
        assert_eq!(report["agree"], 13, "{model}: {report:#}");
        assert_eq!(report["disagree"], 0, "{model}");
        assert_eq!(report["assert_exhaustion"], 1, "{model}");
        assert_eq!(report["kinds"]["assert_trap"], serde_json::json!({"directives": 12, "agree": 11, "disagree": 0, "skipped": 1}), "{model}");
        assert_eq!(report["fault_classes"]["indirect_call_fault"], 4, "{model}");
        assert_eq!(report["fault_classes"]["arithmetic_fault"], 4, "{model}");
    }
}

fn every_wasm3_trap_agrees_in_every_wasm_model() {
    for model in complete_models() {
        let (code, report, stderr) = wast(&[WASM3, "--model", model]);
        assert_eq!(code, 0, "{model}: {stderr}");
        assert_eq!(report["wasm_features"], "3.0", "{model}");
        // 10 assert_trap, 1 assert_exception, 1 assert_return, 2 modules.
        assert_eq!(report["agree"], 14, "{model}: {report:#}");
        assert_eq!(report["disagree"], 0, "{model}");
        assert_eq!(report["skipped"], 0, "{model}: {report:#}");
        assert_eq!(report["assert_exception"], 1, "{model}");
        assert_eq!(observed_at(&report, 36), "null_reference", "{model}");
        assert_eq!(observed_at(&report, 41), "cast_failure", "{model}");
        assert_eq!(observed_at(&report, 43), "uncaught_exception", "{model}");
        // Not stack_overflow: the tail calls never grew the stack.
        assert_eq!(observed_at(&report, 47), "unreachable_code_reached", "{model}");
    }
}

fn the_wasm2_profile_skips_wasm3_modules_and_says_so() {
    let (code, report, stderr) = wast(&[WASM3, "--wasm-features", "2.0"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["wasm_features"], "2.0");
    assert_eq!(report["agree"], 0, "{report:#}");
    assert_eq!(report["skipped"], 14, "{report:#}");
    assert_eq!(report["agreement_percent"], serde_json::Value::Null, "nothing ran: no percentage");
    let reasons = report["skip_reasons"].as_object().unwrap();
    assert!(reasons.keys().all(|r| r.contains("Wasm 2.0 feature set")), "{reasons:?}");
    let profile = report["profile"].to_string();
    assert!(profile.contains("garbage collection (not in Wasm 2.0)"), "{profile}");
}

fn the_default_profile_names_every_proposal_it_enables() {
    for model in MODELS {
        let (_, report, _) = wast(&[WASM2, "--model", model]);
        let profile = report["profile"][0].as_str().unwrap_or_default();
        for proposal in ["tail calls", "garbage collection", "exception handling", "64-bit memories", "relaxed SIMD"] {
            assert!(profile.contains(proposal), "{model}: {profile}");
        }
    }
}

fn a_module_needing_a_proposal_outside_both_profiles_is_skipped_with_its_reason() {
    for profile in ["2.0", "3.0"] {
        let (_, report, _) = wast(&[WASM2, "--wasm-features", profile]);
        // The module and the assert_trap that needs it.
        assert_eq!(report["skipped"], 2, "{profile}: {report:#}");
        let reasons = report["skip_reasons"].as_object().unwrap();
        assert!(reasons.keys().any(|r| r.contains("page size")), "{profile}: {reasons:?}");
    }
}

fn a_directive_faultbox_cannot_run_is_skipped_and_the_script_goes_on() {
    let dir = std::env::temp_dir().join(format!("faultbox-wast-thread-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("threads.wast");
    std::fs::write(
        &file,
        "(module (func (export \"u\") (unreachable)))\n(thread $T (module))\n(wait $T)\n\
         (assert_trap (invoke \"u\") \"unreachable\")\n",
    )
    .unwrap();
    let (code, report, stderr) = wast(&[file.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["skipped"], 2, "{report:#}");
    assert_eq!(report["agree"], 2, "{report:#}");
    assert_eq!(report["kinds"]["thread"]["skipped"], 1, "{report:#}");
    assert_eq!(report["directive_count"], 4, "{report:#}");
    let reasons = report["skip_reasons"].as_object().unwrap();
    assert!(reasons.keys().any(|r| r.starts_with("thread:")), "{reasons:?}");
    assert!(reasons.keys().any(|r| r.starts_with("wait:")), "{reasons:?}");
}

fn a_directory_of_scripts_runs_whole() {
    let (code, report, stderr) = wast(&[SCRIPTS]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["files"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["disagree"], 0);
}

fn a_wrong_expectation_is_a_disagreement_and_exit_1() {
    let dir = std::env::temp_dir().join(format!("faultbox-wast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.wast");
    std::fs::write(
        &file,
        r#"(module (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
          (func (export "fine")))
(assert_trap (invoke "div" (i32.const 0)) "integer overflow")
(assert_exception (invoke "fine"))
"#,
    )
    .unwrap();
    let (code, report, _) = wast(&[file.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1);
    assert_eq!(report["disagree"], 2, "{report:#}");
    let observed = &report["files"][0]["directives"][1]["observed"];
    assert_eq!(observed["kind"], "trapped", "snake_case kinds, as in the compare report");
    assert_eq!(observed["trap"], "integer_division_by_zero");
    assert_eq!(report["files"][0]["directives"][2]["observed"], serde_json::json!({"kind": "returned"}));
}

/// Writes `text` to a script of its own and runs it.
fn run_script(name: &str, text: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let dir = std::env::temp_dir().join(format!("faultbox-wast-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.wast"));
    std::fs::write(&file, text).unwrap();
    let mut args = vec![file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = wast(&args);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// The directive at `line` of the only file.
fn directive_at(report: &serde_json::Value, line: u64) -> &serde_json::Value {
    let d = report["files"][0]["directives"].as_array().unwrap().iter().find(|d| d["line"] == line);
    d.unwrap_or_else(|| panic!("no directive at line {line}: {report:#}"))
}

fn every_value_assertion_agrees_in_every_wasm_model() {
    for model in complete_models() {
        let (code, report, stderr) = wast(&[VALUES, "--model", model]);
        assert_eq!(code, 0, "{model}: {stderr}");
        assert_eq!(report["disagree"], 0, "{model}: {report:#}");
        assert_eq!(report["skipped"], 0, "{model}: {report:#}");
        let kinds = &report["kinds"];
        assert_eq!(kinds["assert_return"]["agree"], 35, "{model}: {kinds:#}");
        assert_eq!(kinds["assert_invalid"]["agree"], 1, "{model}");
        assert_eq!(kinds["assert_malformed"]["agree"], 2, "{model}");
        assert_eq!(kinds["assert_unlinkable"]["agree"], 2, "{model}");
        assert_eq!(kinds["register"]["agree"], 1, "{model}");
        assert_eq!(report["directive_count"], 44, "{model}");
    }
}

const WRONG_VALUES: &str = r#"(module
  (func (export "i32") (result i32) (i32.const 42))
  (func (export "f32") (param f32) (result f32) (local.get 0))
  (func (export "f64") (param f64) (result f64) (local.get 0))
  (func (export "v") (result v128) (v128.const i32x4 1 2 3 4))
  (func $f (export "fn") (result funcref) (ref.func $f))
  (func (export "null") (result funcref) (ref.null func))
  (func (export "ext") (param externref) (result externref) (local.get 0))
  (func (export "i31") (result anyref) (ref.i31 (i32.const 5)))
  (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2)))
(assert_return (invoke "i32") (i32.const 43))
(assert_return (invoke "f32" (f32.const -0)) (f32.const 0))
(assert_return (invoke "f32" (f32.const nan:0x200000)) (f32.const nan:arithmetic))
(assert_return (invoke "f32" (f32.const nan:0x400001)) (f32.const nan:canonical))
(assert_return (invoke "f64" (f64.const nan:0x1)) (f64.const nan:arithmetic))
(assert_return (invoke "v") (v128.const i32x4 1 2 4 3))
(assert_return (invoke "v") (v128.const f32x4 nan:canonical 0 0 0))
(assert_return (invoke "fn") (ref.null func))
(assert_return (invoke "null") (ref.func))
(assert_return (invoke "null") (ref.null extern))
(assert_return (invoke "ext" (ref.extern 7)) (ref.extern 8))
(assert_return (invoke "ext" (ref.null extern)) (ref.extern))
(assert_return (invoke "i31") (ref.struct))
(assert_return (invoke "i31") (ref.host 5))
(assert_return (invoke "i32") (either (i32.const 1) (i32.const 2)))
(assert_return (invoke "two") (i32.const 1))
(assert_return (invoke "two") (i32.const 1) (i64.const 3))
(assert_return (invoke "i32") (i32.const 42))
"#;

fn a_wrong_expected_value_is_a_disagreement() {
    for model in complete_models() {
        let (code, report, stderr) = run_script("values", WRONG_VALUES, &["--model", model]);
        assert_eq!(code, 1, "{model}: {stderr}");
        // Every assert_return but the last is wrong.
        assert_eq!(report["kinds"]["assert_return"]["disagree"], 17, "{model}: {report:#}");
        assert_eq!(report["kinds"]["assert_return"]["agree"], 1, "{model}: {report:#}");
        let d = directive_at(&report, 11);
        assert_eq!(d["agreement"], "disagree");
        assert_eq!(d["expected"], "i32 43");
        assert_eq!(d["observed"]["values"], serde_json::json!(["i32 42"]));
        assert_eq!(d["observed"]["mismatch"], "expected i32 43, observed i32 42");
        // -0.0 is not 0.0: floats compare bit for bit.
        assert!(directive_at(&report, 12)["observed"]["mismatch"].as_str().unwrap().contains("0x80000000"), "{model}");
        let mismatch = directive_at(&report, 21)["observed"]["mismatch"].as_str().unwrap().to_string();
        assert_eq!(mismatch, "expected ref.extern 8, observed ref.extern 7", "{model}");
        let mismatch = directive_at(&report, 26)["observed"]["mismatch"].as_str().unwrap().to_string();
        assert!(mismatch.contains("expected 1 value(s)"), "{model}: {mismatch}");
    }
}

fn a_module_assertion_that_does_not_hold_is_a_disagreement() {
    let script = r#"(assert_invalid (module (func (result i32) (i32.const 1))) "type mismatch")
(assert_malformed (module binary "\00asm\01\00\00\00") "unexpected end")
(assert_unlinkable (module (import "spectest" "print" (func))) "unknown import")
(assert_invalid (module (func (result i32))) "type mismatch")
(module (import "spectest" "nothing" (func)))
(invoke "f")
(module (func (export "f")))
(invoke "f")
(assert_trap (invoke "f") "unreachable")
"#;
    let (code, report, stderr) = run_script("modules", script, &[]);
    assert_eq!(code, 1, "{stderr}");
    for line in [1, 2, 3] {
        let d = directive_at(&report, line);
        assert_eq!(d["agreement"], "disagree", "line {line}: {d:#}");
        assert_eq!(d["observed"], serde_json::json!({"kind": "accepted"}), "line {line}");
    }
    let d = directive_at(&report, 4);
    assert_eq!(d["agreement"], "agree");
    assert_eq!(d["observed"]["kind"], "rejected");
    // A module that does not instantiate is a disagreement, and so is
    // what uses it; the script goes on.
    assert_eq!(directive_at(&report, 5)["agreement"], "disagree");
    assert_eq!(directive_at(&report, 6)["observed"]["kind"], "failed");
    assert_eq!(directive_at(&report, 8)["agreement"], "agree");
    assert_eq!(directive_at(&report, 9)["observed"], serde_json::json!({"kind": "returned"}));
    assert_eq!(report["disagree"], 6, "{report:#}");
    assert_eq!(report["agree"], 3, "{report:#}");
}

fn when_nothing_runs_no_agreement_is_claimed() {
    let dir = std::env::temp_dir().join(format!("faultbox-wast-nothing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nothing.wast");
    // A script whose first directive is `thread` parses as a module's body.
    std::fs::write(&file, "(assert_suspension (invoke \"f\") \"x\")\n(thread $T (module))\n").unwrap();
    let out = Command::new(FAULTBOX).arg("wast").arg(&file).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(summary.contains("2 directives (1 assert_suspension, 1 thread)"), "{summary}");
    assert!(summary.contains("no directive ran"), "{summary}");
    assert!(!summary.contains('%'), "{summary}");
}

/// An engine that lacks proposals runs every directive it can: nothing
/// disagrees, and every skip names a proposal its registry row says it
/// lacks.
fn an_engine_skips_only_what_it_lacks_and_says_why() {
    let partial: Vec<_> = faultbox::registry::ROWS.iter().filter(|r| !r.capabilities.lacks.is_empty()).collect();
    assert!(!partial.is_empty(), "no engine lacks a proposal: this test checks nothing");
    for row in partial {
        for script in [WASM2, WASM3, VALUES] {
            let (code, report, stderr) = wast(&[script, "--model", row.model]);
            assert_eq!(code, 0, "{}: {stderr}", row.model);
            assert_eq!(report["disagree"], 0, "{}: {report:#}", row.model);
            let ran = report["agree"].as_u64().unwrap();
            // Every module of the Wasm 3.0 script may need what an engine
            // lacks (V8 11.3 ships tail calls alone of them): then all of
            // it is skipped, each skip checked below.
            assert!(ran > 0 || script == WASM3, "{} ran nothing of {script}", row.model);
            for d in report["files"][0]["directives"].as_array().unwrap() {
                if d["agreement"] == "skipped" {
                    let why = d.to_string();
                    assert!(
                        row.capabilities.lacks.iter().any(|(p, _)| why.contains(p.name())) || why.contains("custom page sizes"),
                        "{}: a skip that names no lacking proposal: {why}",
                        row.model
                    );
                }
            }
        }
    }
}

crate::trials!(
    every_wasm2_trap_message_agrees_in_every_wasm_model,
    every_wasm3_trap_agrees_in_every_wasm_model,
    the_wasm2_profile_skips_wasm3_modules_and_says_so,
    the_default_profile_names_every_proposal_it_enables,
    a_module_needing_a_proposal_outside_both_profiles_is_skipped_with_its_reason,
    a_directive_faultbox_cannot_run_is_skipped_and_the_script_goes_on,
    a_directory_of_scripts_runs_whole,
    a_wrong_expectation_is_a_disagreement_and_exit_1,
    every_value_assertion_agrees_in_every_wasm_model,
    a_wrong_expected_value_is_a_disagreement,
    a_module_assertion_that_does_not_hold_is_a_disagreement,
    when_nothing_runs_no_agreement_is_claimed,
    an_engine_skips_only_what_it_lacks_and_says_why,
);
