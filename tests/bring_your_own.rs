//! Bring your own: modules and programs faultbox did not build, run
//! through `faultbox run --wasm/--native` and a manifest's
//! `[guest.prebuilt]`. Every artifact is built here from the sources in
//! `tests/byo/`: the WASI command from `command.wat` (with the `wat`
//! crate), the native program from `segv.c` (with `cc`, which must be on
//! the PATH).


use crate::common::{FAULTBOX, Scratch};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/byo")
}

/// `command.wat` compiled to `command.wasm` in `dir`.
fn command_wasm(dir: &Path) -> PathBuf {
    let bytes = wat::parse_file(sources().join("command.wat")).expect("tests/byo/command.wat compiles");
    let path = dir.join("command.wasm");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A reactor with faultbox-style exports: `fb_div` divides 1000 by its
/// argument (0 traps), `fb_health` answers HEALTH_OK; and `fb_narrow`, of
/// the wrong type for a run.
const REACTOR_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "fb_div") (param $n i64) (result i64) (i64.div_s (i64.const 1000) (local.get $n)))
  (func (export "fb_narrow") (param i32) (result i32) (local.get 0))
  (func (export "fb_health") (result i64) (i64.const 0x600DF00D)))"#;

fn reactor_wasm(dir: &Path) -> PathBuf {
    let path = dir.join("reactor.wasm");
    std::fs::write(&path, wat::parse_str(REACTOR_WAT).unwrap()).unwrap();
    path
}

/// `segv.c` compiled to `segv` in `dir` with `cc`.
fn segv_program(dir: &Path) -> PathBuf {
    let path = dir.join("segv");
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&path)
        .arg(sources().join("segv.c"))
        .status()
        .expect("cc is on the PATH (the native program is built from tests/byo/segv.c)");
    assert!(status.success(), "cc failed to build tests/byo/segv.c");
    path
}

fn faultbox(args: &[&str]) -> Output {
    Command::new(FAULTBOX).args(args).output().expect("faultbox runs")
}

/// `faultbox run ... --format json`: its outcomes.
fn outcomes(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let out = faultbox(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{all:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str::<Vec<Value>>(&stdout).unwrap_or_else(|e| panic!("{all:?}: {e}: {stdout}"))
}

fn of<'a>(outcomes: &'a [Value], model: &str) -> &'a Value {
    outcomes.iter().find(|o| o["model"] == model).unwrap_or_else(|| panic!("no {model} outcome in {outcomes:#?}"))
}

/// Every wasm engine configuration of the registry.
const WASM_MODELS: [&str; faultbox::registry::ROWS.len()] = faultbox::registry::MODEL_NAMES;

fn a_wasi_command_traps_exits_and_ends_normally_by_its_arguments() {
    let dir = Scratch::new("byo-command");
    let wasm = command_wasm(&dir.0);
    let wasm = wasm.to_str().unwrap();

    let trapped = outcomes(&["--wasm", wasm, "--", "trap"]);
    assert_eq!(trapped.len(), WASM_MODELS.len(), "a module alone runs in every wasm model: {trapped:#?}");
    for model in WASM_MODELS {
        let o = of(&trapped, model);
        assert_eq!(o["language"], "prebuilt", "{o:#}");
        assert_eq!(o["scenario"], "command", "{o:#}");
        // No fb_health: the instance cannot be checked, so the trap is contained.
        assert!(o["verdict"] == "contained" || o["verdict"] == "recovered", "{model}: {o:#}");
        assert_eq!(o["fault"], "abort", "{model}: {o:#}");
        assert_eq!(o["ending"]["kind"], "trapped", "{model}: {o:#}");
        assert_eq!(o["ending"]["trap"], "unreachable_code_reached", "{model}: {o:#}");
        assert_eq!(o["containment"]["reuse"], "not_checked", "{model}: {o:#}");
        let tail = o["output_tail"].as_str().unwrap_or_default();
        assert!(tail.contains("hello from a command"), "{model}: stdout captured: {o:#}");
    }

    let exited = outcomes(&["--wasm", wasm, "--model", "wasm", "--", "exit"]);
    let o = of(&exited, "wasm");
    assert_eq!((o["fault"].as_str(), o["ending"]["kind"].as_str(), o["ending"]["code"].as_i64()), (Some("exit"), Some("exited"), Some(3)), "{o:#}");
    assert_eq!(o["verdict"], "contained", "the worker survived a proc_exit(3): {o:#}");

    let clean = outcomes(&["--wasm", wasm, "--model", "wasm-pulley"]);
    let o = of(&clean, "wasm-pulley");
    assert_eq!((o["verdict"].as_str(), o["fault"].as_str()), (Some("ok"), Some("none")), "a return from _start is exit 0: {o:#}");

    // The text report names the run as a catalog scenario's is.
    let out = faultbox(&["run", "--wasm", wasm, "--model", "wasm", "--", "trap"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("command [prebuilt] in wasm: contained") && text.contains("hello from a command"), "{text}");
}

fn a_reactor_export_is_called_with_its_argument_and_its_reuse_checked() {
    let dir = Scratch::new("byo-reactor");
    let wasm = reactor_wasm(&dir.0);
    let wasm = wasm.to_str().unwrap();
    let fine = outcomes(&["--wasm", wasm, "--export", "fb_div", "--arg", "8", "--model", "wasm"]);
    let o = of(&fine, "wasm");
    assert_eq!((o["verdict"].as_str(), o["ending"]["value"].as_i64()), (Some("ok"), Some(125)), "{o:#}");
    let faulted = outcomes(&["--wasm", wasm, "--export", "fb_div", "--arg", "0"]);
    for model in WASM_MODELS {
        let o = of(&faulted, model);
        assert_eq!(o["fault"], "arithmetic_fault", "{model}: {o:#}");
        assert_eq!(o["containment"]["reuse"], "reusable", "{model}: fb_health passed afterwards: {o:#}");
        assert_eq!(o["verdict"], "recovered", "{model}: {o:#}");
    }
}

fn a_native_program_that_writes_through_null_crashes_with_sigsegv() {
    let dir = Scratch::new("byo-native");
    let segv = segv_program(&dir.0);
    let segv = segv.to_str().unwrap();
    let crashed = outcomes(&["--native", segv]);
    assert_eq!(crashed.len(), 1, "a program alone runs natively: {crashed:#?}");
    let o = of(&crashed, "native");
    assert_eq!(o["verdict"], "crashed", "{o:#}");
    assert_eq!(o["fault"], "memory_fault", "{o:#}");
    assert_eq!((o["ending"]["kind"].as_str(), o["ending"]["signal"].as_str()), (Some("signaled"), Some("SIGSEGV")), "{o:#}");
    assert!(o["output_tail"].as_str().unwrap_or_default().contains("about to write through NULL"), "{o:#}");

    let clean = outcomes(&["--native", segv, "--", "ok"]);
    let o = of(&clean, "native");
    assert_eq!((o["verdict"].as_str(), o["fault"].as_str()), (Some("ok"), Some("none")), "{o:#}");
    let exited = outcomes(&["--native", segv, "--", "exit"]);
    let o = of(&exited, "native");
    assert_eq!((o["verdict"].as_str(), o["fault"].as_str(), o["ending"]["code"].as_i64()), (Some("crashed"), Some("exit"), Some(3)), "{o:#}");
}

fn a_module_and_a_program_together_make_one_report() {
    let dir = Scratch::new("byo-both");
    let (wasm, segv) = (command_wasm(&dir.0), segv_program(&dir.0));
    let both = outcomes(&["--wasm", wasm.to_str().unwrap(), "--native", segv.to_str().unwrap(), "--", "trap"]);
    assert_eq!(both.len(), WASM_MODELS.len() + 1, "{both:#?}");
    assert_eq!(of(&both, "wasm")["fault"], "abort");
    assert_eq!(of(&both, "native")["fault"], "memory_fault");
}

/// A manifest naming the prebuilt artifacts, with expectations, checked
/// by `compare --check`.
fn manifest_dir(dir: &Path, native_verdict: &str) {
    command_wasm(dir);
    segv_program(dir);
    std::fs::write(
        dir.join("byo_command.toml"),
        format!(
            r#"summary = "A WASI command that traps, and a C program that writes through NULL"
category = "memory"
injects = "unknown"

[guest.prebuilt]
module = "command.wasm"
program = "segv"
args = ["trap"]

[expect.prebuilt.wasm]
verdict = "contained"
fault = "abort"
trap = "unreachable_code_reached"
reuse = "not_checked"
why = "the command runs `unreachable`; without fb_health its instance cannot be checked"

[expect.prebuilt.native]
verdict = "{native_verdict}"
fault = "memory_fault"
signal = "SIGSEGV"
why = "the program writes through NULL: SIGSEGV"
"#
        ),
    )
    .unwrap();
}

fn a_manifest_names_prebuilt_artifacts_with_their_expectations() {
    let dir = Scratch::new("byo-manifest");
    manifest_dir(&dir.0, "crashed");
    let out = faultbox(&["compare", "--scenarios", dir.path(), "--check", "--format", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"prebuilt\""), "{stdout}");

    let wrong = Scratch::new("byo-manifest-wrong");
    manifest_dir(&wrong.0, "recovered");
    let out = faultbox(&["compare", "--scenarios", wrong.path(), "--check"]);
    assert_eq!(out.status.code(), Some(1), "an expectation that does not hold fails --check");

    // Expectations for a model with no artifact are refused.
    let half = Scratch::new("byo-manifest-half");
    command_wasm(&half.0);
    half.file(
        "half.toml",
        "summary = \"s\"\ncategory = \"control\"\ninjects = \"unknown\"\n[guest.prebuilt]\nmodule = \"command.wasm\"\n\
         [expect.prebuilt.wasm]\nverdict = \"ok\"\nfault = \"none\"\nwhy = \"w\"\n\
         [expect.prebuilt.native]\nverdict = \"ok\"\nfault = \"none\"\nwhy = \"w\"\n",
    );
    let out = faultbox(&["list", "--scenarios", half.path(), "--check"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Exit 2 and one line on stderr that names `file`.
fn refused(args: &[&str], file: &Path, problem: &str) {
    let out = faultbox(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line: {stderr}");
    assert!(stderr.contains(file.to_str().unwrap()), "{args:?}: names the file: {stderr}");
    assert!(stderr.contains(problem), "{args:?}: says `{problem}`: {stderr}");
}

fn bad_modules_and_programs_are_one_line_and_exit_2() {
    let dir = Scratch::new("byo-bad");
    let text = dir.file("notwasm.wasm", "this is not a module\n");
    refused(&["run", "--wasm", text.to_str().unwrap()], &text, "not a WebAssembly module");
    let wasm = reactor_wasm(&dir.0);
    let w = wasm.to_str().unwrap();
    refused(&["run", "--wasm", w, "--export", "fb_nope"], &wasm, "no export `fb_nope`");
    refused(&["run", "--wasm", w, "--export", "fb_narrow"], &wasm, "expected (func (param i64) (result i64))");
    refused(&["run", "--wasm", w], &wasm, "no `_start`");
    let missing = dir.0.join("missing.wasm");
    refused(&["run", "--wasm", missing.to_str().unwrap()], &missing, "cannot read");

    let plain = dir.file("not-executable", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused(&["run", "--native", plain.to_str().unwrap()], &plain, "not executable");
    let gone = dir.0.join("no-such-program");
    refused(&["run", "--native", gone.to_str().unwrap()], &gone, "cannot run");
    refused(&["run", "--native", dir.path()], &dir.0, "directory");

    // Checked before anything runs, the other one included.
    let segv = segv_program(&dir.0);
    refused(&["run", "--native", segv.to_str().unwrap(), "--wasm", text.to_str().unwrap()], &text, "not a WebAssembly module");
}

fn run_by_name_is_unchanged_and_the_two_forms_do_not_mix() {
    let out = faultbox(&["run"]);
    assert_eq!(out.status.code(), Some(2), "a scenario, --wasm or --native is required");
    let out = faultbox(&["run", "clean_run", "--native", "/bin/true"]);
    assert_eq!(out.status.code(), Some(2), "a scenario name and --native do not mix");
    let out = faultbox(&["run", "clean_run", "--model", "native", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

crate::trials!(
    a_wasi_command_traps_exits_and_ends_normally_by_its_arguments,
    a_reactor_export_is_called_with_its_argument_and_its_reuse_checked,
    a_native_program_that_writes_through_null_crashes_with_sigsegv,
    a_module_and_a_program_together_make_one_report,
    a_manifest_names_prebuilt_artifacts_with_their_expectations,
    bad_modules_and_programs_are_one_line_and_exit_2,
    run_by_name_is_unchanged_and_the_two_forms_do_not_mix,
);
