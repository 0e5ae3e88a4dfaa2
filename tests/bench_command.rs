//! `faultbox bench` runs every configuration and reports what it measured;
//! it holds no goals of its own. A regression is judged against a saved
//! run (`--save-baseline NAME`, `--baseline NAME`, criterion's model).
//! Only the shape and the baseline round trip are checked here: timings
//! are for the bench command on a quiet machine, never for the test suite.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `faultbox bench` with `args`, its baselines kept in `cache`.
fn bench(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultbox"))
        .arg("bench")
        .args(args)
        .env("FAULTBOX_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh cache directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultbox-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bench_measures_every_model_and_every_cycle_faults_the_same_way() {
    let cache = scratch("shape");
    // --compare times a compare of the catalog as selected: Rust's alone
    // here, to keep the suite short.
    let out = bench(&cache, &["--iterations", "40", "--format", "json", "--compare", "--language", "rust"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let configs = report["configurations"].as_array().unwrap();
    let names: Vec<&str> = configs.iter().map(|c| c["name"].as_str().unwrap()).collect();
    // Every registry row, the first row with backtraces also without them,
    // then native's three.
    let mut expected: Vec<String> = faultbox::registry::ROWS.iter().map(|r| r.model.to_string()).collect();
    expected.insert(1, format!("{}-no-backtrace", faultbox::registry::ROWS[0].model));
    expected.extend(["native", "native-fork-exec", "native-floor"].map(String::from));
    assert_eq!(names, expected);
    for c in configs {
        // trap_instruction: `unreachable` in wasm, `ud2` natively: an abort, every time.
        assert_eq!(c["classes"], serde_json::json!({"abort": 40}), "{}", c["name"]);
        assert!(c["cycle"]["median_us"].as_f64().unwrap() > 0.0);
        assert!(c["cycle"]["p99_us"].as_f64().unwrap() >= c["cycle"]["median_us"].as_f64().unwrap());
    }
    for field in [
        "native_over_wasm",
        "fork_exec_over_fork_server",
        "native_over_floor",
        "wasm_explicit_over_floor",
        "backtrace_cost_us",
        "compile_ms",
        "cache_load_ms",
        "compare_ms",
    ] {
        assert!(report.get(field).is_some_and(|v| !v.is_null()), "{field} missing");
    }
    // native ÷ wasm: the native cycle (a fork) is the slower one.
    assert!(report["native_over_wasm"]["wasm"].as_f64().unwrap() > 1.0, "{:#}", report["native_over_wasm"]);
    assert!(report.get("targets").is_none(), "bench measures; it does not carry goals");
    let _ = std::fs::remove_dir_all(&cache);
}

fn a_saved_baseline_is_met_by_itself_and_a_faster_one_is_a_regression() {
    let cache = scratch("baseline");
    let out = bench(&cache, &["--iterations", "20", "--save-baseline", "main"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let saved = cache.join("baselines/main.json");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert!(report["configurations"][0]["cycle"]["median_us"].is_f64(), "{report:#}");
    assert!(!text(&out.stdout).contains("targets"), "{}", text(&out.stdout));

    // A new run against a baseline far slower in every configuration
    // passes. (Not the saved run itself: two 20-cycle runs on a loaded
    // machine differ by more than any threshold — a forked child can wait
    // milliseconds for a CPU — and a verdict must not depend on load.)
    let mut slow = report.clone();
    for c in slow["configurations"].as_array_mut().unwrap() {
        c["cycle"]["median_us"] = (c["cycle"]["median_us"].as_f64().unwrap() * 1e5).into();
    }
    std::fs::write(cache.join("baselines/slow.json"), slow.to_string()).unwrap();
    let out = bench(&cache, &["--iterations", "20", "--baseline", "slow", "--noise-threshold", "1000"]);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("no configuration regressed beyond the noise threshold of 1000%"), "{all}");
    assert!(all.lines().any(|l| l.trim_start().starts_with("native ") && l.contains(" µs → ")), "one line per configuration: {all}");

    // A baseline a hundred thousand times faster in one configuration:
    // that one regressed, by name, exit 1 (the threshold again far above
    // what a loaded machine's 20-cycle medians wander by).
    // (Every other configuration far slower, so that only it can.)
    let mut doctored = report.clone();
    for c in doctored["configurations"].as_array_mut().unwrap() {
        let factor = if c["name"] == "wasm-pulley" { 1e-5 } else { 1e5 };
        c["cycle"]["median_us"] = (c["cycle"]["median_us"].as_f64().unwrap() * factor).into();
    }
    std::fs::write(cache.join("baselines/fast.json"), doctored.to_string()).unwrap();
    let out = bench(&cache, &["--iterations", "20", "--baseline", "fast", "--noise-threshold", "1000"]);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("regressed beyond the noise threshold of 1000%: wasm-pulley\n"), "{all}");
    let _ = std::fs::remove_dir_all(&cache);
}

fn a_missing_baseline_is_one_line_naming_the_file_and_exit_2() {
    let cache = scratch("missing");
    let out = bench(&cache, &["--iterations", "20", "--baseline", "nosuch"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let file = cache.join("baselines/nosuch.json");
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // Refused before any cycle ran: nothing on stdout.
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let _ = std::fs::remove_dir_all(&cache);
}

crate::trials!(
    bench_measures_every_model_and_every_cycle_faults_the_same_way,
    a_saved_baseline_is_met_by_itself_and_a_faster_one_is_a_regression,
    a_missing_baseline_is_one_line_naming_the_file_and_exit_2,
);
