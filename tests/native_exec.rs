//! Native guests that are programs of their own: the fork server's child
//! execs them (`NativeRequest::exec`), they report through the pipe named
//! by `FAULTBOX_REPORT_FD`, and the fork server watches them as it watches
//! a linked guest. Driven through a real native worker process.
//!
//! The Go guest (`guests/go`) is built here into a scratch directory when
//! `go` is on the PATH; without it the Go test prints a note and passes,
//! unless `CI` is set, where it fails: CI never skips silently. The shell
//! script guests need only `/bin/sh`.


use crate::common::{FAULTBOX, Scratch};
use faultbox::limits::{Deadline, Limits};
use faultbox::outcome::Signal;
use faultbox::protocol::{ChildStage, ChildStatus, ExecGuest, Message, NativeObservation, NativeRequest, Request};
use faultbox::worker::WorkerKind;
use faultbox::worker::client::{CallError, WorkerPool};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HEALTH_OK: i64 = 0x600DF00D;
/// The address-space floor faultbox gives the Go guest: its descriptor's,
/// so that the test runs the program as the catalog does. (Measured with
/// `ulimit -v` on the cgo build: below about 1700 MiB a goroutine stack
/// cannot grow to 64 MiB, and near 1 GiB even starting a thread can fail.)
fn go_floor_mib() -> u64 {
    match faultbox::language::go::DESCRIPTOR.native {
        faultbox::language::NativeLauncher::Exec { address_space_floor_mib } => address_space_floor_mib,
        other => panic!("Go is exec'd, not {other:?}"),
    }
}

fn request(program: &Path, args: &[&str], limits: Limits, floor_mib: u64) -> Request {
    Request::Native(NativeRequest {
        entry: args.first().copied().unwrap_or("program").to_string(),
        arg: 0,
        limits,
        backtrace: false,
        exec: Some(ExecGuest {
            program: program.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            address_space_floor_mib: floor_mib,
            // The report protocol is what these tests exercise.
            reports: true,
        }),
        library: None,
        inject: None,
    })
}

fn call(pool: &WorkerPool, req: &Request) -> Result<Message, CallError> {
    pool.call(WorkerKind::Native, req, Duration::from_secs(120))
}

fn observe(pool: &WorkerPool, req: &Request) -> NativeObservation {
    match call(pool, req) {
        Ok(Message::Native(obs)) => obs,
        Ok(other) => panic!("not an observation: {other:?}"),
        Err(e) => panic!("{req:?}: {:#}", anyhow::Error::from(e)),
    }
}

fn pool() -> WorkerPool {
    WorkerPool::new(PathBuf::from(FAULTBOX))
}

/// Builds the Go guest (cgo on: `deadlock` then sleeps forever instead of
/// the runtime detecting it) into `dir`; `None` when there is no `go`.
fn build_go(dir: &Scratch) -> Option<PathBuf> {
    let go_present = std::process::Command::new("go").arg("version").output().is_ok_and(|o| o.status.success());
    if !go_present {
        assert!(std::env::var_os("CI").is_none(), "`go` is not on the PATH and CI is set: the Go guest may not be skipped");
        println!("note: `go` is not on the PATH; the exec'd Go guest is not tested");
        return None;
    }
    let out = dir.0.join("guest");
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/go");
    let started = Instant::now();
    let built = std::process::Command::new("go")
        .args(["build", "-trimpath", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(&sources)
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "1")
        .output()
        .expect("run go build");
    assert!(built.status.success(), "go build failed: {}", String::from_utf8_lossy(&built.stderr));
    println!("go build: {:?}", started.elapsed());
    Some(out)
}

fn script(dir: &Scratch, name: &str, text: &str) -> PathBuf {
    let p = dir.file(name, text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn go_limits(memory_mib: u64, timeout_ms: u64) -> Limits {
    Limits { memory_mib, timeout_ms, ..Limits::default() }
}

fn go_guest_endings_through_the_fork_server() {
    let dir = Scratch::new("native-exec-go");
    let Some(guest) = build_go(&dir) else { return };
    let pool = pool();
    let run = |args: &[&str], limits: Limits| {
        let obs = observe(&pool, &request(&guest, args, limits, go_floor_mib()));
        println!("{args:?}: {:?} {:?} wall {} µs cpu {} µs rss {} KiB, report {:?}", obs.status, obs.killed_at, obs.wall_us, obs.cpu_us, obs.max_rss_kib, obs.report);
        obs
    };

    let obs = run(&["clean_run", "0"], Limits::default());
    assert_eq!(obs.status, ChildStatus::Exited { code: 0 }, "{}", obs.stderr.tail);
    assert_eq!((obs.report.stage, obs.report.value), (ChildStage::Completed, Some(590)));
    assert!(obs.report.startup_us.is_some() && obs.report.call_us.is_some(), "{:?}", obs.report);

    let obs = run(&["null_write", "0"], Limits::default());
    assert_eq!(obs.status, ChildStatus::Exited { code: 0 }, "{}", obs.stderr.tail);
    assert_eq!(obs.report.stage, ChildStage::Recovered);
    assert!(obs.report.panics[0].contains("invalid memory address"), "{:?}", obs.report.panics);
    assert_eq!(obs.report.health, Some(HEALTH_OK));
    assert!(obs.report.fault_us.is_some(), "{:?}", obs.report);

    let obs = run(&["wild_write", "0"], Limits::default());
    assert_eq!(obs.status, ChildStatus::Exited { code: 2 });
    assert!(obs.stderr.tail.contains("unexpected fault address"), "{}", obs.stderr.tail);
    assert_eq!(obs.report.stage, ChildStage::Running);

    let obs = observe(&pool, &request(&guest, &["recursion_small_frames", "67108864"], Limits::default(), go_floor_mib()));
    assert_eq!(obs.status, ChildStatus::Exited { code: 2 }, "{}", obs.stderr.tail);
    assert!(obs.stderr.tail.contains("goroutine stack exceeds"), "{}", obs.stderr.tail);
    assert_eq!(obs.report.stage, ChildStage::Running);
    assert!(obs.report.progress.is_some_and(|p| p.last > 0 && p.reports > 0), "{:?}", obs.report.progress);

    let obs = run(&["go_os_exit", "0"], Limits::default());
    assert_eq!(obs.status, ChildStatus::Exited { code: 3 });
    assert_eq!(obs.report.stage, ChildStage::Running);

    // RLIMIT_AS = floor + memory + stack: the runtime starts, the 2 GiB
    // slice does not fit (the catalog's go_out_of_memory).
    let obs = run(&["go_out_of_memory", "2147483648"], go_limits(256, 1000));
    assert_eq!(obs.status, ChildStatus::Exited { code: 2 }, "{}", obs.stderr.tail);
    assert!(obs.stderr.tail.contains("out of memory"), "{}", obs.stderr.tail);
    assert_eq!(obs.killed_at, None);

    // Below the floor Go's runtime cannot even start: the limit is the
    // floor plus the memory, not the memory above what the child had.
    let obs = observe(&pool, &request(&guest, &["clean_run", "0"], go_limits(16, 1000), 0));
    assert_eq!(obs.status, ChildStatus::Exited { code: 2 }, "{}", obs.stderr.tail);
    assert_eq!(obs.report.stage, ChildStage::NotStarted);

    // The same worker still runs linked guests afterwards.
    let linked = Request::Native(NativeRequest { entry: "clean_run".into(), arg: 0, limits: Limits::default(), backtrace: false, exec: None, library: None, inject: None });
    let obs = observe(&pool, &linked);
    assert_eq!(obs.report.stage, ChildStage::Completed, "{obs:?}");
}

/// Go's cgo build never detects this deadlock (an extra M for C callbacks
/// counts as running): it sleeps, using no CPU, until the wall-clock
/// backstop (10 × 100 ms + 5 s).
fn a_sleeping_go_guest_is_killed_at_the_wall_backstop() {
    let dir = Scratch::new("native-exec-deadlock");
    let Some(guest) = build_go(&dir) else { return };
    let pool = pool();
    let started = Instant::now();
    let obs = observe(&pool, &request(&guest, &["deadlock", "0"], go_limits(256, 100), go_floor_mib()));
    println!("deadlock: {:?} after {:?}, cpu {} µs", obs.killed_at, started.elapsed(), obs.cpu_us);
    assert_eq!(obs.killed_at, Some(Deadline::Wall), "{obs:?}");
    assert_eq!(obs.status, ChildStatus::Signaled { signal: Signal::SIGKILL, core_dumped: false });
    assert!(obs.cpu_us < 50_000, "a sleeping guest used {} µs of CPU", obs.cpu_us);
    assert_eq!(obs.report.stage, ChildStage::Running);
}

fn a_program_that_cannot_be_execd_is_a_tool_failure() {
    let dir = Scratch::new("native-exec-missing");
    let pool = pool();
    let missing = dir.0.join("no-such-guest");
    let not_executable = dir.file("not-executable", "#!/bin/sh\nexit 0\n");
    for (program, why) in [(&missing, "No such file or directory"), (&not_executable, "Permission denied")] {
        match call(&pool, &request(program, &["x", "0"], Limits::default(), 0)) {
            Err(CallError::Tool(e)) => {
                let text = format!("{e:#}");
                println!("{text}");
                assert!(text.contains("cannot exec") && text.contains(&program.display().to_string()) && text.contains(why), "{text}");
                assert_eq!(text.lines().count(), 1, "{text}");
            }
            other => panic!("{}: {other:?}", program.display()),
        }
    }
    // The worker that reported it serves the next run.
    let ok = script(&dir, "ok.sh", "#!/bin/sh\necho 'started ok 0' >&3\necho 'returned 7' >&3\n");
    let obs = observe(&pool, &request(&ok, &[], Limits::default(), 0));
    assert_eq!((obs.report.stage, obs.report.value), (ChildStage::Completed, Some(7)), "{obs:?}");
}

fn a_program_killed_by_a_signal_after_starting_is_signaled_and_running() {
    let dir = Scratch::new("native-exec-segv");
    let segv = script(&dir, "segv.sh", "#!/bin/sh\necho \"started x 0\" >&3; kill -SEGV $$\n");
    let obs = observe(&pool(), &request(&segv, &[], Limits::default(), 0));
    assert_eq!(obs.status, ChildStatus::Signaled { signal: Signal::SIGSEGV, core_dumped: false }, "{obs:?}");
    assert_eq!(obs.report.stage, ChildStage::Running);
    assert_eq!(obs.killed_at, None);
}

fn the_program_gets_only_the_report_fd_in_its_environment() {
    let dir = Scratch::new("native-exec-env");
    // `env` is not a builtin: PATH is unset, so the shell's default path.
    let env = script(&dir, "env.sh", "#!/bin/sh\necho started >&3\nenv\ngrep SigIgn /proc/$$/status\necho returned 0 >&3\n");
    let obs = observe(&pool(), &request(&env, &[], Limits::default(), 0));
    // The fork server's ignored SIGPIPE (Rust's runtime) is not inherited.
    let ignored = obs.stdout.tail.lines().find_map(|l| l.strip_prefix("SigIgn:")).expect("SigIgn");
    let ignored = u64::from_str_radix(ignored.trim(), 16).unwrap();
    assert_eq!(ignored & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE is ignored: {ignored:x}");
    let vars: Vec<&str> = obs.stdout.tail.lines().filter(|l| l.contains('=')).collect();
    assert!(vars.contains(&"FAULTBOX_REPORT_FD=3"), "{vars:?}");
    for v in &vars {
        assert!(!v.starts_with("RUST_") && !v.starts_with("FAULTBOX_WASM") && !v.starts_with("HOME="), "{vars:?}");
    }
    assert_eq!(obs.report.stage, ChildStage::Completed, "{obs:?}");
}

fn a_report_flood_finishes_and_is_bounded() {
    let dir = Scratch::new("native-exec-flood");
    let flood = script(
        &dir,
        "flood.sh",
        "#!/bin/sh\n\
         echo 'started flood 0' >&3\n\
         yes 'noise noise noise' | head -n 100000 >&3\n\
         yes 'progress 5' | head -n 100000 >&3\n\
         yes 'recovered flood boom' | head -n 100000 >&3\n\
         head -c 1000000 /dev/zero | tr '\\000' x >&3\n\
         echo >&3\n\
         echo 'health 1611526157' >&3\n",
    );
    let started = Instant::now();
    let obs = observe(&pool(), &request(&flood, &[], Limits { timeout_ms: 10_000, ..Limits::default() }, 0));
    println!("flood: {:?}, {:?}", started.elapsed(), obs.report);
    assert_eq!(obs.status, ChildStatus::Exited { code: 0 }, "{}", obs.stderr.tail);
    assert_eq!(obs.report.stage, ChildStage::Recovered);
    assert_eq!(obs.report.panics.len(), faultbox::native::ReportLines::MAX_PANICS);
    assert_eq!(obs.report.progress.map(|p| (p.last, p.reports)), Some((5, 100_000)));
    assert_eq!(obs.report.health, Some(HEALTH_OK));
    let size = serde_json::to_string(&obs.report).unwrap().len();
    assert!(size < 4096, "the report is {size} bytes");
}

/// `inject`: the fork server sends the signal once the program reported
/// progress, never before; a program that never reports it is sent
/// nothing. SIGTERM is sent to a shell that `trap`s nothing: it dies of it.
fn an_injected_signal_goes_once_the_program_reports_progress() {
    let dir = Scratch::new("native-exec-inject");
    let ready = script(&dir, "ready.sh", "#!/bin/sh\necho 'started x 15' >&3\necho 'progress 1' >&3\nwhile :; do :; done\n");
    let silent = script(&dir, "silent.sh", "#!/bin/sh\necho 'started x 15' >&3\nwhile :; do :; done\n");
    let inject = |program: &Path| {
        let Request::Native(mut req) = request(program, &[], Limits { timeout_ms: 300, ..Limits::default() }, 0) else { unreachable!() };
        req.inject = Some(Signal(libc::SIGTERM));
        Request::Native(req)
    };
    let obs = observe(&pool(), &inject(&ready));
    assert_eq!(obs.status, ChildStatus::Signaled { signal: Signal(libc::SIGTERM), core_dumped: false }, "{obs:?}");
    let report = obs.injection.expect("an injection report");
    assert!(report.sent_after_us.is_some(), "{report:?}");
    assert_eq!(obs.killed_at, None, "died of the signal, not at the budget: {obs:?}");
    let obs = observe(&pool(), &inject(&silent));
    assert!(obs.killed_at.is_some(), "ran to its budget: {obs:?}");
    assert_eq!(obs.injection.and_then(|i| i.sent_after_us), None, "sent to a program that never said it was ready: {obs:?}");
}

crate::trials!(
    go_guest_endings_through_the_fork_server,
    a_sleeping_go_guest_is_killed_at_the_wall_backstop,
    a_program_that_cannot_be_execd_is_a_tool_failure,
    a_program_killed_by_a_signal_after_starting_is_signaled_and_running,
    the_program_gets_only_the_report_fd_in_its_environment,
    a_report_flood_finishes_and_is_bounded,
    an_injected_signal_goes_once_the_program_reports_progress,
);
