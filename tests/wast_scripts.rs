//! `faultbox wast`: spec-style scripts, classified and checked for
//! agreement with the spec's messages, in every wasm model and both
//! feature profiles.

use std::process::Command;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast");
const WASM2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast/traps.wast");
const WASM3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast/wasm3.wast");
const MODELS: [&str; 3] = ["wasm", "wasm-explicit", "wasm-pulley"];

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

#[test]
fn every_wasm2_trap_message_agrees_in_every_wasm_model() {
    for model in MODELS {
        let (code, report, stderr) = wast(&[WASM2, "--model", model]);
        assert_eq!(code, 0, "{model}: {stderr}");
        assert_eq!(report["agree"], 12, "{model}: {report:#}");
        assert_eq!(report["disagree"], 0, "{model}");
        assert_eq!(report["assert_exhaustion"], 1, "{model}");
        assert_eq!(report["fault_classes"]["indirect_call_fault"], 4, "{model}");
        assert_eq!(report["fault_classes"]["arithmetic_fault"], 4, "{model}");
    }
}

#[test]
fn every_wasm3_trap_agrees_in_every_wasm_model() {
    for model in MODELS {
        let (code, report, stderr) = wast(&[WASM3, "--model", model]);
        assert_eq!(code, 0, "{model}: {stderr}");
        assert_eq!(report["wasm_features"], "3.0", "{model}");
        assert_eq!(report["agree"], 11, "{model}: {report:#}");
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

#[test]
fn the_wasm2_profile_skips_wasm3_modules_and_says_so() {
    let (code, report, stderr) = wast(&[WASM3, "--wasm-features", "2.0"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["wasm_features"], "2.0");
    assert_eq!(report["agree"], 0, "{report:#}");
    assert_eq!(report["skipped"], 11, "{report:#}");
    let reasons = report["skip_reasons"].as_object().unwrap();
    assert!(reasons.keys().all(|r| r.contains("Wasm 2.0 feature set")), "{reasons:?}");
    let profile = report["profile"].to_string();
    assert!(profile.contains("garbage collection (not in Wasm 2.0)"), "{profile}");
}

#[test]
fn the_default_profile_names_every_proposal_it_enables() {
    for model in MODELS {
        let (_, report, _) = wast(&[WASM2, "--model", model]);
        let profile = report["profile"][0].as_str().unwrap_or_default();
        for proposal in ["tail calls", "garbage collection", "exception handling", "64-bit memories", "relaxed SIMD"] {
            assert!(profile.contains(proposal), "{model}: {profile}");
        }
    }
}

#[test]
fn a_module_needing_a_proposal_outside_both_profiles_is_skipped_with_its_reason() {
    for profile in ["2.0", "3.0"] {
        let (_, report, _) = wast(&[WASM2, "--wasm-features", profile]);
        assert_eq!(report["skipped"], 1, "{profile}: {report:#}");
        let reasons = report["skip_reasons"].as_object().unwrap();
        assert!(reasons.keys().any(|r| r.contains("page size")), "{profile}: {reasons:?}");
    }
}

#[test]
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
    assert_eq!(report["agree"], 1, "{report:#}");
    let reasons = report["skip_reasons"].as_object().unwrap();
    assert!(reasons.keys().any(|r| r.starts_with("thread:")), "{reasons:?}");
    assert!(reasons.keys().any(|r| r.starts_with("wait:")), "{reasons:?}");
}

#[test]
fn a_directory_of_scripts_runs_whole() {
    let (code, report, stderr) = wast(&[SCRIPTS]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["disagree"], 0);
}

#[test]
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
    let observed = &report["files"][0]["directives"][0]["observed"];
    assert_eq!(observed["kind"], "trapped", "snake_case kinds, as in the compare report");
    assert_eq!(observed["trap"], "integer_division_by_zero");
    assert_eq!(report["files"][0]["directives"][1]["observed"], serde_json::json!({"kind": "returned"}));
}
