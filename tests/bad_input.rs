//! Bad input: each case is a one-line error naming the file (and line,
//! where there is one) and exit code 2. Nothing panics.

use std::path::{Path, PathBuf};
use std::process::Command;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faultbox-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stderr: String,
}

fn faultbox(args: &[&str]) -> Run {
    let out = Command::new(FAULTBOX).args(args).output().unwrap();
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

[guest]
entry = "clean_run"

[expect.wasm]
verdict = "ok"
fault = "none"
why = "nothing faults"

[expect.native]
verdict = "ok"
fault = "none"
why = "nothing faults"
"#;

/// A catalog holding one manifest `case.toml` with `text`; runs `list` on it.
fn list_with(name: &str, text: &str) -> (Scratch, Run) {
    let dir = Scratch::new(name);
    dir.file("case.toml", text);
    let run = faultbox(&["list", "--scenarios", dir.0.to_str().unwrap()]);
    (dir, run)
}

#[test]
fn a_good_manifest_loads() {
    let (_dir, run) = list_with("good", GOOD);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn manifest_with_an_unknown_field() {
    let (_d, run) = list_with("unknown-field", &GOOD.replace("injects = \"none\"", "injects = \"none\"\ncolour = \"red\""));
    assert_bad(&run, &["case.toml:4:", "unknown field `colour`"]);
}

#[test]
fn manifest_with_an_unknown_trap_code() {
    let text = GOOD.replace("[expect.wasm]\nverdict = \"ok\"", "[expect.wasm]\nverdict = \"ok\"\ntrap = \"stack_overflw\"");
    let (_d, run) = list_with("unknown-trap", &text);
    assert_bad(&run, &["case.toml:", "stack_overflw"]);
}

#[test]
fn manifest_naming_a_missing_guest_function() {
    let (_d, run) = list_with("missing-entry", &GOOD.replace("entry = \"clean_run\"", "entry = \"no_such_function\""));
    assert_bad(&run, &["case.toml:6:", "no_such_function", "is not a guest function"]);
}

#[test]
fn scenario_that_does_not_exist() {
    let run = faultbox(&["run", "no_such_scenario"]);
    assert_bad(&run, &["unknown scenario `no_such_scenario`"]);
}

fn scenarios_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
}

#[test]
fn the_shipped_catalog_loads() {
    let run = faultbox(&["list", "--scenarios", scenarios_dir().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn wast_file_that_does_not_parse() {
    let dir = Scratch::new("wast-parse");
    let f = dir.file("broken.wast", "(module)\n(assert_trap (invoke \"f\" \"unreachable\")\n");
    let run = faultbox(&["wast", f.to_str().unwrap()]);
    assert_bad(&run, &["broken.wast:2:", "cannot parse"]);
}

#[test]
fn wast_file_with_an_unsupported_directive() {
    let dir = Scratch::new("wast-thread");
    let f = dir.file("threads.wast", "(module)\n\n(thread $T (module))\n(wait $T)\n");
    let run = faultbox(&["wast", f.to_str().unwrap()]);
    assert_bad(&run, &["threads.wast:3:", "unsupported directive: thread"]);
}
