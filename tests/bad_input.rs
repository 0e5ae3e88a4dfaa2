//! Bad input: each case is a one-line error naming the file (and line,
//! where there is one) and exit code 2. Nothing panics.


use crate::common::{FAULTBOX, Scratch, new_tag, tagged_processes};
use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stderr: String,
}

/// Runs faultbox with a unique tag in its environment; after it exits,
/// no process carrying the tag may be left (bad input starts nothing).
fn faultbox(args: &[&str]) -> Run {
    let tag = new_tag("bad-input");
    let out = Command::new(FAULTBOX).args(args).env("FAULTBOX_TEST_TAG", &tag).output().unwrap();
    let left = tagged_processes(&tag);
    assert!(left.is_empty(), "faultbox {args:?} left processes running: {left:?}");
    Run { code: out.status.code().unwrap_or(-1), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// Asserts exit code 2, a single line, and every `needle` in it.
fn assert_bad(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    let text = run.stderr.trim_end();
    assert_eq!(text.lines().count(), 1, "one line expected, got: {text}");
    assert!(!text.contains("panicked"), "faultbox panicked: {text}");
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from: {text}");
    }
}

const GOOD: &str = r#"summary = "ok"
category = "control"
injects = "none"

[guest.rust]
entry = "clean_run"

[expect.rust.wasm]
verdict = "ok"
fault = "none"
why = "nothing faults"

[expect.rust.native]
verdict = "ok"
fault = "none"
why = "nothing faults"
"#;

/// A catalog holding one manifest `case.toml` with `text`; runs `list` on it.
fn list_with(name: &str, text: &str) -> (Scratch, Run) {
    let dir = Scratch::new(name);
    dir.file("case.toml", text);
    let run = faultbox(&["list", "--check", "--scenarios", dir.path()]);
    (dir, run)
}

fn a_good_manifest_loads() {
    let (_dir, run) = list_with("good", GOOD);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn manifest_with_an_unknown_field() {
    let (_d, run) = list_with("unknown-field", &GOOD.replace("injects = \"none\"", "injects = \"none\"\ncolour = \"red\""));
    assert_bad(&run, &["case.toml:4:", "unknown field `colour`"]);
}

fn manifest_with_an_unknown_trap_code() {
    let text = GOOD.replace("[expect.rust.wasm]\nverdict = \"ok\"", "[expect.rust.wasm]\nverdict = \"ok\"\ntrap = \"stack_overflw\"");
    let (_d, run) = list_with("unknown-trap", &text);
    assert_bad(&run, &["case.toml:", "stack_overflw"]);
}

fn manifest_naming_a_missing_guest_function() {
    let (_d, run) = list_with("missing-entry", &GOOD.replace("entry = \"clean_run\"", "entry = \"no_such_function\""));
    assert_bad(&run, &["case.toml:6:", "no_such_function", "is not a guest function"]);
}

fn scenario_that_does_not_exist() {
    let run = faultbox(&["run", "no_such_scenario"]);
    assert_bad(&run, &["unknown scenario `no_such_scenario`"]);
}

fn scenarios_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
}

fn the_shipped_catalog_loads() {
    let run = faultbox(&["list", "--check", "--scenarios", scenarios_dir().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn wast_file_that_does_not_parse() {
    let dir = Scratch::new("wast-parse");
    let f = dir.file("broken.wast", "(module)\n(assert_trap (invoke \"f\" \"unreachable\")\n");
    let run = faultbox(&["wast", f.to_str().unwrap()]);
    assert_bad(&run, &["broken.wast:2:", "cannot parse"]);
}

// A directive faultbox cannot run is not bad input: tests/wast_scripts.rs
// checks that it is reported as skipped, with why.

// ---- manifests

fn manifest_that_is_not_toml() {
    let (_d, run) = list_with("bad-toml", &GOOD.replace("summary = \"ok\"", "summary = \"ok"));
    assert_bad(&run, &["case.toml:1:"]);
}

fn manifest_with_a_negative_limit() {
    let (_d, run) = list_with("negative", &format!("{GOOD}\n[limits]\ntimeout_ms = -5\n"));
    assert_bad(&run, &["case.toml:19:", "`limits.timeout_ms`", "-5"]);
}

fn manifest_with_an_absurd_limit() {
    let (_d, run) = list_with("absurd", &format!("{GOOD}\n[limits]\nmemory_mib = 1000000\n"));
    assert_bad(&run, &["case.toml:", "`limits.memory_mib` = 1000000 is out of range"]);
}

fn manifest_with_a_zero_timeout() {
    let (_d, run) = list_with("zero", &format!("{GOOD}\n[limits]\ntimeout_ms = 0\n"));
    assert_bad(&run, &["case.toml:", "`limits.timeout_ms` = 0 is out of range"]);
}

fn manifest_with_an_unknown_limit() {
    let (_d, run) = list_with("unknown-limit", &format!("{GOOD}\n[limits]\nfuel = 10\n"));
    assert_bad(&run, &["case.toml:", "unknown field `fuel`"]);
}

fn manifest_without_a_native_expectation() {
    let text = GOOD.split("[expect.rust.native]").next().unwrap().to_string();
    let (_d, run) = list_with("no-native", &text);
    assert_bad(&run, &["case.toml", "`expect.rust.native` is missing"]);
}

fn manifest_expecting_an_unknown_model() {
    let (_d, run) = list_with("unknown-model", &format!("{GOOD}\n[expect.rust.jvm]\nverdict = \"ok\"\nfault = \"none\"\nwhy = \"x\"\n"));
    assert_bad(&run, &["case.toml:18:", "`expect.rust.jvm` names no execution model"]);
}

fn manifest_with_an_unknown_verdict() {
    let (_d, run) = list_with("verdict", &GOOD.replacen("verdict = \"ok\"", "verdict = \"fine\"", 1));
    assert_bad(&run, &["case.toml:9:", "`expect.rust.wasm.verdict`", "unknown variant `fine`"]);
}

fn manifest_with_an_unknown_signal() {
    let (_d, run) = list_with("signal", &GOOD.replacen("fault = \"none\"\nwhy", "fault = \"none\"\nsignal = \"SIGBOOM\"\nwhy", 1));
    assert_bad(&run, &["case.toml:", "unknown signal `SIGBOOM`"]);
}

fn manifest_with_an_unknown_category() {
    let (_d, run) = list_with("category", &GOOD.replace("category = \"control\"", "category = \"misc\""));
    assert_bad(&run, &["case.toml:2:", "unknown variant `misc`"]);
}

fn manifest_without_a_why() {
    let (_d, run) = list_with("why", &GOOD.replacen("why = \"nothing faults\"", "why = \" \"", 1));
    assert_bad(&run, &["case.toml:", "needs a `why`"]);
}

fn manifest_with_a_name_that_is_not_an_identifier() {
    let dir = Scratch::new("name");
    dir.file("Bad-Name.toml", GOOD);
    let run = faultbox(&["list", "--check", "--scenarios", dir.0.to_str().unwrap()]);
    assert_bad(&run, &["Bad-Name.toml", "lowercase letters, digits and `_`"]);
}

fn scenario_directory_that_does_not_exist() {
    let run = faultbox(&["list", "--check", "--scenarios", "/nonexistent/faultbox-scenarios"]);
    assert_bad(&run, &["/nonexistent/faultbox-scenarios", "cannot read the scenario directory"]);
}

// ---- guest modules

/// A manifest whose one guest is the wat module `path`: no native
/// expectation (a wat guest has no native form).
fn wat_manifest(path: &str) -> String {
    let wasm_only = GOOD.split("[expect.rust.native]").next().unwrap();
    wasm_only
        .replace("[guest.rust]\nentry = \"clean_run\"", &format!("[guest.wat]\nentry = \"case\"\npath = \"{path}\""))
        .replace("[expect.rust.wasm]", "[expect.wat.wasm]")
}

/// A catalog with one wat scenario whose module is `wat`.
fn wat_case(name: &str, wat: &str) -> (Scratch, Run) {
    let dir = Scratch::new(name);
    dir.file("guest.wat", wat);
    dir.file("case.toml", &wat_manifest("guest.wat"));
    let run = faultbox(&["list", "--check", "--scenarios", dir.0.to_str().unwrap()]);
    (dir, run)
}

const GOOD_WAT: &str = "(module (func (export \"fb_case\") (param i64) (result i64) (local.get 0)))";

fn a_good_wat_guest_loads() {
    let (_d, run) = wat_case("good-wat", GOOD_WAT);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn a_wat_guest_without_a_health_check_is_named_when_it_loads() {
    let (_d, run) = wat_case("no-health", GOOD_WAT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("guest.wat: no `fb_health` export"), "{}", run.stderr);
    let healthy = GOOD_WAT.replace(
        "(local.get 0))",
        "(local.get 0)) (func (export \"fb_health\") (result i64) (i64.const 0x600DF00D))",
    );
    let (_d, run) = wat_case("health", &healthy);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("fb_health"), "{}", run.stderr);
}

fn wat_guest_that_does_not_parse() {
    let (_d, run) = wat_case("bad-wat", "(module\n  (func (export \"fb_case\") (param i64) (result i64)\n    (i64.frobnicate)))");
    assert_bad(&run, &["guest.wat:3:", "unknown operator"]);
}

fn wat_guest_without_the_export() {
    let (_d, run) = wat_case("no-export", "(module (func (export \"other\") (param i64) (result i64) (local.get 0)))");
    assert_bad(&run, &["guest.wat", "no export `fb_case`", "other"]);
}

fn wat_guest_whose_export_has_the_wrong_signature() {
    let (_d, run) = wat_case("signature", "(module (func (export \"fb_case\") (param i32) (result i32) (local.get 0)))");
    assert_bad(&run, &["guest.wat", "export `fb_case` has type", "expected (func (param i64) (result i64))"]);
}

fn wat_guest_that_cannot_be_instantiated() {
    let (_d, run) = wat_case("import", &GOOD_WAT.replace("(module ", "(module (import \"env\" \"clock\" (func)) "));
    assert_bad(&run, &["guest.wat", "cannot be instantiated", "`env.clock`"]);
}

fn wat_guest_that_is_invalid() {
    let (_d, run) = wat_case("invalid", "(module (func (export \"fb_case\") (param i64) (result i64) (i32.const 0)))");
    assert_bad(&run, &["guest.wat", "invalid module", "type mismatch"]);
}

fn manifest_pointing_at_a_missing_wat_file() {
    let dir = Scratch::new("missing-wat");
    dir.file("case.toml", &wat_manifest("nowhere.wat"));
    let run = faultbox(&["list", "--check", "--scenarios", dir.0.to_str().unwrap()]);
    assert_bad(&run, &["nowhere.wat", "cannot read"]);
}

// ---- command line

/// A command-line mistake keeps clap's account of it: exit code 2, the
/// error first, then what helps (a suggestion, the allowed values, the
/// usage of the subcommand at hand), and nothing panics.
fn assert_usage(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "the error comes first: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "faultbox panicked: {}", run.stderr);
    for n in needles {
        assert!(run.stderr.contains(n), "`{n}` missing from: {}", run.stderr);
    }
}

fn unknown_execution_model() {
    let run = faultbox(&["compare", "--model", "jvm"]);
    let known = format!("known: {}", faultbox::model::ExecutionModel::names());
    assert_usage(&run, &["unknown execution model `jvm`", &known]);
}

fn conflicting_flags() {
    let run = faultbox(&["soak", "--cycles", "10", "--seconds", "5"]);
    assert_usage(&run, &["--cycles", "cannot be used with", "--seconds", "Usage: faultbox soak"]);
}

fn a_missing_argument_is_named_with_the_subcommand_s_usage() {
    assert_usage(&faultbox(&["run"]), &["<SCENARIO>", "Usage: faultbox run"]);
}

fn a_misspelt_subcommand_or_flag_gets_a_suggestion() {
    assert_usage(&faultbox(&["compar"]), &["similar subcommand", "'compare'"]);
    assert_usage(&faultbox(&["compare", "--modle", "wasm"]), &["similar argument", "'--model'"]);
}

fn an_unknown_format_lists_the_allowed_values() {
    assert_usage(&faultbox(&["compare", "--format", "xml"]), &["possible values: table, json, markdown, html"]);
    assert_usage(&faultbox(&["run", "clean_run", "--format", "xml"]), &["possible values: table, json"]);
}

fn list_shows_what_loads_and_names_each_manifest_that_does_not() {
    let dir = Scratch::new("half-written");
    dir.file("good.toml", GOOD);
    dir.file("broken.toml", &GOOD.replace("category = \"control\"", "category = \"misc\""));
    let out = Command::new(FAULTBOX).args(["list", "--scenarios", dir.path()]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("good") && stdout.contains("1 scenario in"), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not listed:") && stderr.contains("broken.toml") && stderr.contains("misc"), "{stderr}");
}

fn a_misspelt_scenario_gets_a_suggestion() {
    let run = faultbox(&["run", "null_writ"]);
    assert_bad(&run, &["unknown scenario `null_writ`", "did you mean `null_write`?"]);
}

fn a_scenario_filter_that_matches_nothing_says_it_is_a_filter() {
    let run = faultbox(&["compare", "--scenario", "zzz"]);
    assert_bad(&run, &["--scenario `zzz` matched nothing", "whose name contains it"]);
}

fn explain_an_unknown_scenario() {
    let run = faultbox(&["explain", "nothing_like_this"]);
    assert_bad(&run, &["unknown scenario `nothing_like_this`"]);
}

fn spec_scripts_in_the_native_model() {
    let run = faultbox(&["wast", "--model", "native", "x.wast"]);
    assert_bad(&run, &["spec scripts run in a wasm model"]);
}

fn replaying_a_file_that_is_not_wasm() {
    let dir = Scratch::new("replay");
    let f = dir.file("junk.wasm", "not wasm at all");
    let run = faultbox(&["fuzz", "--replay", f.to_str().unwrap()]);
    assert_bad(&run, &["junk.wasm", "not a valid wasm module"]);
}

fn manifest_whose_memory_limit_is_below_the_guest_s_initial_memory() {
    let (_d, run) = list_with("tiny-memory", &format!("{GOOD}\n[limits]\nmemory_mib = 1\n"));
    assert_bad(&run, &["case.toml:", "`limits.memory_mib` = 1 is below the guest's initial memory"]);
}

fn manifest_with_a_wasm_stack_wasmtime_refuses() {
    let (_d, run) = list_with("wasm-stack", &format!("{GOOD}\n[limits]\nwasm_stack_kib = 4096\n"));
    assert_bad(&run, &["case.toml:", "`limits.wasm_stack_kib` = 4096 is out of range (16 to 2048)"]);
}

fn manifest_saying_a_wasm_model_cannot_run_it() {
    let (_d, run) = list_with("wasm-na", &GOOD.replacen("verdict = \"ok\"", "verdict = \"n/a\"", 1));
    assert_bad(&run, &["case.toml:8:", "`expect.rust.wasm` says n/a, but every rust guest runs in the wasm models"]);
}

fn manifest_expecting_a_trap_natively() {
    let (_d, run) = list_with("native-trap", &format!("{GOOD}trap = \"stack_overflow\"\n"));
    assert_bad(&run, &["case.toml:13:", "`expect.rust.native` names a `trap`"]);
}

fn manifest_saying_a_rust_guest_cannot_run_natively() {
    let text = GOOD.replace("[expect.rust.native]\nverdict = \"ok\"\nfault = \"none\"", "[expect.rust.native]\nverdict = \"n/a\"");
    let (_d, run) = list_with("native-na", &text);
    assert_bad(&run, &["case.toml:13:", "`expect.rust.native` says n/a, but a rust guest always runs natively"]);
}

fn manifest_expecting_something_of_a_wat_guest_natively() {
    // What a wat manifest used to say of native (n/a) is now refused: the
    // language's descriptor says it has no native form.
    let dir = Scratch::new("wat-native");
    dir.file("guest.wat", GOOD_WAT);
    dir.file("case.toml", &format!("{}\n[expect.wat.native]\nverdict = \"n/a\"\nwhy = \"wat\"\n", wat_manifest("guest.wat")));
    let run = faultbox(&["list", "--check", "--scenarios", dir.path()]);
    assert_bad(&run, &["case.toml:15:", "`expect.wat.native`", "never runs natively"]);
}

fn manifest_in_an_unknown_language() {
    let (_d, run) = list_with("cobol", &GOOD.replace("rust", "cobol"));
    assert_bad(&run, &["case.toml:5:", "`guest.cobol` names no language", "known: rust, go, wat"]);
}

fn manifest_expecting_of_a_language_it_has_no_entry_in() {
    let text = format!("{GOOD}\n[expect.go.wasm]\nverdict = \"ok\"\nfault = \"none\"\nwhy = \"x\"\n");
    let (_d, run) = list_with("go-without-guest", &text);
    assert_bad(&run, &["case.toml:18:", "`expect.go` has no `[guest.go]`"]);
}

fn manifest_with_an_array_of_expectations() {
    let (_d, run) = list_with("expect-array", &GOOD.replace("[expect.rust.wasm]", "[[expect.rust.wasm]]"));
    assert_bad(&run, &["case.toml:8:", "`[[expect.rust.wasm]]` is an array of tables", "write `[expect.rust.wasm]`"]);
}

fn manifest_with_a_wat_path_for_a_rust_guest_or_none_for_a_wat_guest() {
    let (_d, run) = list_with("rust-path", &GOOD.replace("entry = \"clean_run\"", "entry = \"clean_run\"\npath = \"x.wat\""));
    assert_bad(&run, &["case.toml:", "`guest.rust.path`", "for `[guest.wat]` only"]);
    let dir = Scratch::new("wat-no-path");
    dir.file("case.toml", &wat_manifest("guest.wat").replace("path = \"guest.wat\"\n", ""));
    let run = faultbox(&["list", "--check", "--scenarios", dir.path()]);
    assert_bad(&run, &["case.toml:", "`guest.wat.path`", "required"]);
}

fn unknown_language() {
    let run = faultbox(&["compare", "--language", "cobol"]);
    assert_usage(&run, &["unknown language `cobol`", "known: rust, go, wat"]);
}

fn wast_directory_without_scripts() {
    let dir = Scratch::new("no-wast");
    let run = faultbox(&["wast", dir.path()]);
    assert_bad(&run, &["no .wast files here"]);
}

fn replaying_a_directory_without_modules() {
    let dir = Scratch::new("no-wasm");
    let run = faultbox(&["fuzz", "--replay", dir.path()]);
    assert_bad(&run, &["no .wasm files here"]);
}

fn benchmarking_a_fault_that_only_ends_at_its_deadline() {
    let run = faultbox(&["bench", "--scenario", "runaway_loop", "--scenarios", scenarios_dir().to_str().unwrap()]);
    assert_bad(&run, &["runaway_loop.toml", "only ends at its deadline"]);
}

/// An error in one language's table points at that table, not at the same
/// key in another language's table above it.
fn an_error_line_points_into_its_own_language_table() {
    let text = GOOD.replace("[guest.rust]\nentry = \"clean_run\"", "[guest.go]\nentry = \"clean_run\"\n\n[guest.rust]\nentry = \"no_such_fn\"");
    assert!(text.contains("no_such_fn"), "the fixture changed: {text}");
    let line = text.lines().position(|l| l.contains("no_such_fn")).unwrap() + 1;
    let (_d, run) = list_with("lang-line", &text);
    assert_bad(&run, &[&format!("case.toml:{line}:"), "`guest.rust.entry`"]);
}

/// An engine whose runtime is missing: its columns are `skipped` with
/// one line naming what to install, and under `CI` that is bad input, as
/// for a guest language's toolchain.
fn a_missing_engine_runtime_is_skipped_or_under_ci_refused() {
    for (model, var, needle) in [("v8", "FAULTBOX_NODE", "Node.js"), ("wazero-interp", "FAULTBOX_GO", "Go")] {
        let args = ["compare", "--scenario", "clean_run", "--language", "rust", "--model", model];
        let tag = new_tag("bad-input");
        let out = Command::new(FAULTBOX).args(args).env(var, "/nonexistent/runtime").env_remove("CI").env("FAULTBOX_TEST_TAG", &tag).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{model}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().find(|l| l.starts_with("skipped (rust")).unwrap_or_else(|| panic!("{model}: no skip line: {stdout}"));
        assert!(line.contains(needle) && line.contains("not found") && line.contains("install"), "{model}: {line}");
        assert!(stdout.lines().any(|l| l.contains("clean_run") && l.contains("skipped")), "{model}: {stdout}");
        assert!(tagged_processes(&tag).is_empty());
        let mut ci = Command::new(FAULTBOX);
        ci.args(args).env(var, "/nonexistent/runtime").env("CI", "true");
        let out = ci.output().unwrap();
        let run = Run { code: out.status.code().unwrap_or(-1), stderr: String::from_utf8_lossy(&out.stderr).into_owned() };
        assert_bad(&run, &[model, "CI is set", needle]);
    }
}

crate::trials!(
    a_good_manifest_loads,
    manifest_with_an_unknown_field,
    manifest_with_an_unknown_trap_code,
    manifest_naming_a_missing_guest_function,
    scenario_that_does_not_exist,
    the_shipped_catalog_loads,
    wast_file_that_does_not_parse,
    manifest_that_is_not_toml,
    manifest_with_a_negative_limit,
    manifest_with_an_absurd_limit,
    manifest_with_a_zero_timeout,
    manifest_with_an_unknown_limit,
    manifest_without_a_native_expectation,
    manifest_expecting_an_unknown_model,
    manifest_with_an_unknown_verdict,
    manifest_with_an_unknown_signal,
    manifest_with_an_unknown_category,
    manifest_without_a_why,
    manifest_with_a_name_that_is_not_an_identifier,
    scenario_directory_that_does_not_exist,
    a_good_wat_guest_loads,
    a_wat_guest_without_a_health_check_is_named_when_it_loads,
    wat_guest_that_does_not_parse,
    wat_guest_without_the_export,
    wat_guest_whose_export_has_the_wrong_signature,
    wat_guest_that_cannot_be_instantiated,
    wat_guest_that_is_invalid,
    manifest_pointing_at_a_missing_wat_file,
    unknown_execution_model,
    conflicting_flags,
    a_missing_argument_is_named_with_the_subcommand_s_usage,
    a_misspelt_subcommand_or_flag_gets_a_suggestion,
    an_unknown_format_lists_the_allowed_values,
    list_shows_what_loads_and_names_each_manifest_that_does_not,
    a_misspelt_scenario_gets_a_suggestion,
    a_scenario_filter_that_matches_nothing_says_it_is_a_filter,
    explain_an_unknown_scenario,
    spec_scripts_in_the_native_model,
    replaying_a_file_that_is_not_wasm,
    manifest_whose_memory_limit_is_below_the_guest_s_initial_memory,
    manifest_with_a_wasm_stack_wasmtime_refuses,
    manifest_saying_a_wasm_model_cannot_run_it,
    manifest_expecting_a_trap_natively,
    manifest_saying_a_rust_guest_cannot_run_natively,
    manifest_expecting_something_of_a_wat_guest_natively,
    manifest_in_an_unknown_language,
    manifest_expecting_of_a_language_it_has_no_entry_in,
    manifest_with_an_array_of_expectations,
    manifest_with_a_wat_path_for_a_rust_guest_or_none_for_a_wat_guest,
    unknown_language,
    wast_directory_without_scripts,
    replaying_a_directory_without_modules,
    benchmarking_a_fault_that_only_ends_at_its_deadline,
    an_error_line_points_into_its_own_language_table,
    a_missing_engine_runtime_is_skipped_or_under_ci_refused,
);
