//! `faultbox wast`: spec-style scripts, classified and checked for
//! agreement with the spec's messages, in every wasm model.

use std::process::Command;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast");

fn wast(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(FAULTBOX).arg("wast").args(args).args(["--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn every_trap_message_agrees_in_every_wasm_model() {
    for model in ["wasm", "wasm-explicit", "wasm-pulley"] {
        let (code, report, stderr) = wast(&[SCRIPTS, "--model", model]);
        assert_eq!(code, 0, "{model}: {stderr}");
        assert_eq!(report["agree"], 12, "{model}: {report:#}");
        assert_eq!(report["disagree"], 0, "{model}");
        assert_eq!(report["assert_exhaustion"], 1, "{model}");
        assert_eq!(report["fault_classes"]["indirect_call_fault"], 4, "{model}");
        assert_eq!(report["fault_classes"]["arithmetic_fault"], 4, "{model}");
    }
}

#[test]
fn a_module_needing_a_later_proposal_is_skipped_with_its_reason() {
    let (_, report, _) = wast(&[SCRIPTS]);
    assert_eq!(report["skipped"], 1);
    let reasons = report["skip_reasons"].as_object().unwrap();
    assert!(reasons.keys().any(|r| r.contains("tail calls")), "{reasons:?}");
}

#[test]
fn a_wrong_expectation_is_a_disagreement_and_exit_1() {
    let dir = std::env::temp_dir().join(format!("faultbox-wast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.wast");
    std::fs::write(
        &file,
        r#"(module (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))
(assert_trap (invoke "div" (i32.const 0)) "integer overflow")
"#,
    )
    .unwrap();
    let (code, report, _) = wast(&[file.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1);
    assert_eq!(report["disagree"], 1);
    let observed = &report["files"][0]["directives"][0]["observed"]["Trapped"]["trap"];
    assert_eq!(observed, "integer_division_by_zero");
}
