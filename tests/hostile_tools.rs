//! Issue 23, items 16, 17, 19, 20 and 21: faultbox's own tools (compilers,
//! `go build`, toolchain queries) and its environment. A tool that hangs
//! meets a deadline, a build dies with faultbox, the user's GOENV file
//! never reaches a build, a bad variable is one line naming it, and a
//! stdout discarded on purpose is accepted. Each test names its item.


use crate::common::{FAULTBOX, Scratch, new_tag, tagged_processes, wait_until_gone};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// faultbox with `args` and `env` added to this environment (CI removed:
/// each test says whether it wants it).
fn faultbox(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(FAULTBOX);
    cmd.args(args).env_remove("CI").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits for `child`; one still running at `common::HANG` is killed and
/// the test fails (before a fix, what the test is about hangs).
fn finish(mut child: Child, what: &str) -> Output {
    let secs = crate::common::HANG.as_secs();
    let until = Instant::now() + crate::common::HANG;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what}: still running after {secs} s: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn assert_one_line(out: &Output, code: i32, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` missing from {err}");
    }
}

/// Kills whatever tagged process is left (so that a failing test does not
/// leave a build running) and returns what was left.
fn kill_leftovers(tag: &str, secs: u64) -> Vec<String> {
    let left = wait_until_gone(tag, secs);
    let shown = left.iter().map(|p| format!("{p} {}", std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim())).collect();
    for pid in left {
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    shown
}

fn executable(dir: &Scratch, name: &str, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.file(name, script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(tool)).find(|p| p.is_file())
}

/// Item 16: a FAULTBOX_CLANG that hangs, on `--version` or only when it
/// compiles faultbox's probe, meets its deadline (made short here with
/// FAULTBOX_TOOL_TIMEOUT_MS): one line naming the variable, exit 2 under
/// CI, the language skipped otherwise, and nothing it started left.
fn a_hanging_clang_meets_its_deadline_and_is_named() {
    let dir = Scratch::new("hanging-clang");
    let real = which("clang");
    let hangs_always = executable(&dir, "clang-hangs", "#!/bin/sh\nsleep 1000\n");
    let mut fakes = vec![("--version", hangs_always)];
    match &real {
        // Answers what it is asked about itself and hangs when it compiles.
        Some(real) => fakes.push((
            "the probe",
            executable(
                &dir,
                "clang-hangs-compiling",
                &format!("#!/bin/sh\ncase \"$*\" in *--version*|*-print-file-name*) exec {} \"$@\";; esac\nsleep 1000\n", real.display()),
            ),
        )),
        None => eprintln!("note: no clang here: only a clang that hangs on --version is tried"),
    }
    for (when, fake) in &fakes {
        let tag = new_tag("clang");
        let cache = dir.0.join(format!("cache-{tag}"));
        let env = [
            ("FAULTBOX_CLANG", fake.to_str().unwrap()),
            ("FAULTBOX_TOOL_TIMEOUT_MS", "1000"),
            ("FAULTBOX_CACHE_DIR", cache.to_str().unwrap()),
            ("FAULTBOX_TEST_TAG", &tag),
        ];
        let args = ["run", "clean_run", "--language", "c", "--model", "native", "--format", "json"];
        let child = faultbox(&args, &env).env("CI", "1").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let out = finish(child, &format!("a clang hanging on {when}, under CI"));
        assert_one_line(&out, 2, &["FAULTBOX_CLANG=", "still running after 1 s"]);
        // Without CI, the language is skipped, as a missing toolchain is.
        let child = faultbox(&args, &env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let out = finish(child, &format!("a clang hanging on {when}"));
        let report = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(report.contains("skipped") && report.contains("FAULTBOX_CLANG="), "{report}");
        let left = kill_leftovers(&tag, 10);
        assert!(left.is_empty(), "a clang hanging on {when} left {left:?}");
    }
}

/// Item 17: SIGKILL or SIGTERM to faultbox while `go build` runs ends the
/// build with it, and the next start removes the unfinished build's
/// directory. The Go build cache is empty, so that the build runs long.
fn a_go_build_dies_with_faultbox_and_its_leftovers_are_swept() {
    if which("go").is_none() && std::env::var_os("FAULTBOX_GO").is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI needs Go");
        eprintln!("note: no Go here: the build-kill test is skipped");
        return;
    }
    for signal in [libc::SIGKILL, libc::SIGTERM] {
        let dir = Scratch::new(&format!("go-build-kill-{signal}"));
        let (cache, gocache) = (dir.0.join("cache"), dir.0.join("gocache"));
        let tag = new_tag("gobuild");
        let env = [
            ("FAULTBOX_CACHE_DIR", cache.to_str().unwrap()),
            ("GOCACHE", gocache.to_str().unwrap()),
            ("FAULTBOX_TEST_TAG", &tag),
        ];
        let mut child = faultbox(&["run", "clean_run", "--language", "go", "--model", "native", "--format", "json"], &env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The Go toolchain's compiler at work: `go build` is running.
        let until = Instant::now() + Duration::from_secs(120);
        let compiling = || {
            tagged_processes(&tag).into_iter().any(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "compile"))
        };
        while !compiling() {
            assert!(Instant::now() < until && child.try_wait().unwrap().is_none(), "go build never ran: {:?}", child.try_wait());
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(child.id() as i32, signal) };
        child.wait().unwrap();
        let left = kill_leftovers(&tag, 15);
        assert!(left.is_empty(), "signal {signal}: left running after faultbox ended: {left:?}");
        let partial = |cache: &Path| -> Vec<String> {
            std::fs::read_dir(cache.join("guests"))
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.contains(".partial-"))
                .collect()
        };
        if signal == libc::SIGKILL {
            assert!(!partial(&cache).is_empty(), "a killed build leaves its directory (what this test sweeps)");
        }
        // Any start sweeps.
        let out = faultbox(&["list"], &env).stdout(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(partial(&cache), Vec::<String>::new(), "signal {signal}: not swept");
    }
}

/// The native Go programs a run built in `cache`, with their `go version
/// -m` build settings.
fn go_builds(cache: &Path) -> Vec<(PathBuf, String)> {
    let mut builds = Vec::new();
    for entry in std::fs::read_dir(cache.join("guests")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("go-") || !entry.path().is_dir() || name.contains(".partial-") {
            continue;
        }
        for program in ["guest-nocgo", "guest-cgo"] {
            let path = entry.path().join(program);
            if path.is_file() {
                let info = Command::new("go").env("GOENV", "off").args(["version", "-m"]).arg(&path).output().unwrap();
                builds.push((path, String::from_utf8_lossy(&info.stdout).into_owned()));
            }
        }
    }
    builds
}

fn build_go(cache: &Path, env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("FAULTBOX_CACHE_DIR", cache.to_str().unwrap()));
    let out = faultbox(&["run", "clean_run", "--language", "go", "--model", "native", "--format", "json"], &env).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Item 19: the user's GOENV file (`go env -w`) does not reach faultbox's
/// builds: its GOFLAGS would build the guest without optimisations (and
/// before, a later clean run reused that build).
fn the_user_s_goenv_file_does_not_reach_the_build() {
    if which("go").is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI needs Go");
        return;
    }
    let dir = Scratch::new("goenv-file");
    let goenv = dir.file("goenv", "GOFLAGS=-gcflags=all=-N\n");
    let cache = dir.0.join("cache");
    build_go(&cache, &[("GOENV", goenv.to_str().unwrap())]);
    build_go(&cache, &[]);
    let builds = go_builds(&cache);
    assert!(!builds.is_empty(), "no Go build in {}", cache.display());
    for (path, info) in &builds {
        assert!(info.contains("\tbuild\t"), "{}: no build settings: {info}", path.display());
        assert!(!info.contains("-gcflags"), "{} was built with the GOENV file's flags:\n{info}", path.display());
    }
}

/// Item 19: the cache key covers the `go env` settings that change the
/// build: a build made under CGO_CFLAGS=-O1 is not reused by a run
/// without it.
fn a_go_build_is_not_reused_under_other_codegen_settings() {
    if which("go").is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI needs Go");
        return;
    }
    let dir = Scratch::new("go-codegen-key");
    let cache = dir.0.join("cache");
    build_go(&cache, &[("CGO_CFLAGS", "-O1 -g")]);
    let first: Vec<PathBuf> = go_builds(&cache).into_iter().map(|(p, _)| p).collect();
    build_go(&cache, &[]);
    let second: Vec<PathBuf> = go_builds(&cache).into_iter().map(|(p, _)| p).filter(|p| !first.contains(p)).collect();
    assert!(!first.is_empty(), "no Go build in {}", cache.display());
    assert!(!second.is_empty(), "the run without CGO_CFLAGS reused the build made with it: {first:?}");
}

/// Item 20: a variable faultbox reads that is set but unusable is one
/// line naming it and exit 2, whatever the command.
fn a_bad_variable_is_one_line_naming_it() {
    let dir = Scratch::new("bad-env");
    let file = dir.file("a-file", "");
    let table: &[(&[&str], &str, &str, &str)] = &[
        (&["run", "clean_run", "--language", "go", "--model", "native"], "TMPDIR", "/nonexistent", "TMPDIR=/nonexistent: no such directory"),
        (&["list"], "TMPDIR", file.to_str().unwrap(), "not a directory"),
        (&["list"], "TMPDIR", "relative/tmp", "TMPDIR=relative/tmp: not an absolute path"),
        (&["list"], "TMPDIR", "", "TMPDIR is set but empty"),
        (&["list"], "FAULTBOX_COMPILE_BUDGET_MS", "abc", "FAULTBOX_COMPILE_BUDGET_MS=abc: not a whole number"),
        (&["list"], "FAULTBOX_COMPILE_BUDGET_MS", "-5", "FAULTBOX_COMPILE_BUDGET_MS=-5: not a whole number"),
        (&["list"], "FAULTBOX_COMPILE_BUDGET_MS", "0", "FAULTBOX_COMPILE_BUDGET_MS=0: out of range"),
        (&["list"], "FAULTBOX_COMPILE_BUDGET_MS", "99999999999999999999", "FAULTBOX_COMPILE_BUDGET_MS=99999999999999999999"),
        (&["list"], "FAULTBOX_TOOL_TIMEOUT_MS", "1s", "FAULTBOX_TOOL_TIMEOUT_MS=1s: not a whole number"),
        (&["list"], "FAULTBOX_WASM_FEATURES", "4.0", "FAULTBOX_WASM_FEATURES=4.0: not a feature profile"),
        (&["list"], "FAULTBOX_TRACE_PROTOCOL", "/nonexistent/trace.jsonl", "FAULTBOX_TRACE_PROTOCOL=/nonexistent/trace.jsonl: cannot open"),
    ];
    for (args, var, value, needle) in table {
        let out = faultbox(args, &[(var, value)]).output().unwrap();
        assert_one_line(&out, 2, &[needle]);
    }
    // Set but empty is as good as unset for faultbox's own variables.
    let out = faultbox(&["list"], &[("FAULTBOX_COMPILE_BUDGET_MS", "")]).stdout(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Item 21: stdout on /dev/null opened read-write (Python's
/// `subprocess.DEVNULL`, a shell's `1<>/dev/null`) is output discarded on
/// purpose, and accepted; a stdout that is really closed is still refused.
fn a_read_write_dev_null_stdout_is_accepted_and_a_closed_one_is_not() {
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").unwrap();
    let out = faultbox(&["list"], &[]).stdout(null).stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut closed = faultbox(&["list"], &[]);
    closed.stderr(Stdio::piped());
    unsafe {
        closed.pre_exec(|| {
            libc::close(1);
            Ok(())
        })
    };
    let out = closed.output().unwrap();
    assert_one_line(&out, 1, &["stdout is closed"]);
}

crate::trials!(
    a_hanging_clang_meets_its_deadline_and_is_named,
    a_go_build_dies_with_faultbox_and_its_leftovers_are_swept,
    the_user_s_goenv_file_does_not_reach_the_build,
    a_go_build_is_not_reused_under_other_codegen_settings,
    a_bad_variable_is_one_line_naming_it,
    a_read_write_dev_null_stdout_is_accepted_and_a_closed_one_is_not,
);
