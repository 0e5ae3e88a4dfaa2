//! `faultbox bench` runs every configuration and reports the figures the
//! closing notes quote. Only the shape is checked here: timing targets are
//! for the bench command on a quiet machine, never for the test suite.

use std::process::Command;

#[test]
fn bench_measures_every_model_and_every_cycle_faults_the_same_way() {
    let out = Command::new(env!("CARGO_BIN_EXE_faultbox"))
        .args(["bench", "--iterations", "40", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let configs = report["configurations"].as_array().unwrap();
    let names: Vec<&str> = configs.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["wasm", "wasm-no-backtrace", "wasm-explicit", "wasm-pulley", "native", "native-fork-exec", "native-floor"]);
    for c in configs {
        // trap_instruction: `unreachable` in wasm, `ud2` natively: an abort, every time.
        assert_eq!(c["classes"], serde_json::json!({"abort": 40}), "{}", c["name"]);
        assert!(c["cycle"]["median_us"].as_f64().unwrap() > 0.0);
        assert!(c["cycle"]["p99_us"].as_f64().unwrap() >= c["cycle"]["median_us"].as_f64().unwrap());
    }
    for field in ["wasm_over_native", "fork_server_speedup", "native_over_floor", "wasm_explicit_over_floor", "backtrace_cost_us", "compile_ms", "cache_load_ms", "compare_ms", "targets"] {
        assert!(report.get(field).is_some(), "{field} missing");
    }
    assert_eq!(report["targets"].as_array().unwrap().len(), 6);
}
