//! The reports: json, markdown and html are renderings of the same data;
//! `run` and `explain` show one scenario in full.

use std::process::Command;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");

fn faultbox(args: &[&str]) -> String {
    let out = Command::new(FAULTBOX).args(args).output().unwrap();
    assert!(out.status.success(), "faultbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const PICK: [&str; 2] = ["--scenario", "null_"];

#[test]
fn json_report_has_the_documented_fields() {
    let json: serde_json::Value = serde_json::from_str(&faultbox(&["compare", PICK[0], PICK[1], "--format", "json"])).unwrap();
    assert_eq!(json["models"].as_array().unwrap().len(), 4);
    let rows = json["scenarios"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names.len(), 3, "null_read, null_write and gc_null_struct_get: {names:?}");
    let row = rows.iter().find(|r| r["name"] == "null_read").expect("null_read is selected");
    let o = &row["outcomes"]["wasm"];
    for field in ["scenario", "model", "verdict", "fault", "ending", "containment", "progress", "cost", "limits", "evidence", "mismatches", "why"] {
        assert!(o.get(field).is_some(), "outcome field `{field}` missing: {o:#}");
    }
    for field in ["host_survived", "detected", "classified", "reuse", "reuse_detail", "recovery_us"] {
        assert!(o["containment"].get(field).is_some(), "containment field `{field}` missing");
    }
    assert_eq!(o["model"], "wasm");
    assert_eq!(o["verdict"], "undetected", "a null access completes silently in wasm");
}

#[test]
fn markdown_report_is_a_table_under_a_headline() {
    let md = faultbox(&["compare", PICK[0], PICK[1], "--format", "markdown"]);
    assert!(md.contains("in-process recovery (catch_unwind"), "{md}");
    assert!(md.contains("wasm did not detect: null_read, null_write"), "{md}");
    assert!(md.contains("| scenario | category | wasm | wasm-explicit | wasm-pulley | native |"), "{md}");
    assert!(md.contains("| `null_write` | memory | **undetected**"), "{md}");
    assert!(md.contains("**crashed** SIGSEGV"), "{md}");
    // The headline contrasts the two kinds of null, as observed.
    assert!(
        md.contains("null in linear memory: `null_read` undetected (= 0), `null_write` undetected")
            && md.contains("a null GC reference: `gc_null_struct_get` recovered (null_reference)"),
        "{md}"
    );
}

#[test]
fn html_report_is_one_self_contained_page() {
    let html = faultbox(&["compare", PICK[0], PICK[1], "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for remote in ["http://", "https://", "<script", "<link"] {
        assert!(!html.contains(remote), "the page must not load anything: found {remote}");
    }
    assert!(html.contains("class=\"v-undetected\""), "verdict colours");
    assert!(html.contains("<details>"), "details per cell");
    assert!(html.contains("Limits: default CPU budget 1000 ms"), "the limits used");
}

#[test]
fn run_shows_one_outcome_in_full() {
    let text = faultbox(&["run", "recursion_large_frames", "--model", "wasm"]);
    assert!(text.contains("trap memory_out_of_bounds"), "{text}");
    assert!(text.contains("wrapped below 0"), "{text}");
    assert!(text.contains("reuse         unusable"), "{text}");
}

#[test]
fn explain_says_what_each_model_did_and_why() {
    let text = faultbox(&["explain", "extern_c_panic"]);
    assert!(text.contains("extern_c_panic (control)"), "{text}");
    for model in ["wasm:", "wasm-explicit:", "wasm-pulley:", "native:"] {
        assert!(text.contains(model), "{model} missing: {text}");
    }
    assert!(text.contains("panic in a function that cannot unwind"), "{text}");
    assert!(text.contains("why:"), "{text}");
}

/// Manifests describe the default Wasm 3.0 profile. Under
/// `--wasm-features 2.0` a 3.0 module is n/a, with the profile named as the
/// reason, and `--check` does not hold that against its manifest.
#[test]
fn under_the_wasm_2_profile_a_wasm_3_scenario_is_na_and_check_passes() {
    let json: serde_json::Value = serde_json::from_str(&faultbox(&[
        "compare", "--wasm-features", "2.0", "--check", "--scenario", "gc_null_struct_get", "--format", "json",
    ]))
    .unwrap();
    let o = &json["scenarios"][0]["outcomes"]["wasm"];
    assert_eq!(o["verdict"], "n/a", "{o:#}");
    assert!(o["evidence"].to_string().contains("Wasm 2.0 profile"), "{o:#}");
    assert_eq!(o["mismatches"], serde_json::json!([]), "{o:#}");
}
