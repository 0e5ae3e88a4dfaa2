//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// A module's tests, as trials of the one test binary (`tests/main.rs`):
/// `trials!(a, b, nested::c)` defines `trials()`, each named
/// `<module>::<function>` as libtest would name it.
#[macro_export]
macro_rules! trials {
    ($($($seg:ident)::+),* $(,)?) => {
        pub fn trials() -> Vec<libtest_mimic::Trial> {
            vec![$($crate::common::trial(module_path!(), stringify!($($seg)::+), $($seg)::+)),*]
        }
    };
}

/// One test function as a trial: a panic is its failure (libtest-mimic
/// catches it and reports its message).
pub fn trial(module: &str, name: &str, test: fn()) -> libtest_mimic::Trial {
    // `main::bad_input` → `bad_input`: the crate's own name says nothing.
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    libtest_mimic::Trial::test(format!("{module}::{}", name.replace(' ', "")), move || {
        test();
        Ok(())
    })
}

use std::path::PathBuf;

pub const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faultbox-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tag unique to this test process and call.
pub fn new_tag(what: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!("{what}-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Pids of live processes started with FAULTBOX_TEST_TAG=tag in their
/// environment: faultbox, its workers, their children, and strays, which
/// all inherit it.
pub fn tagged_processes(tag: &str) -> Vec<u32> {
    let needle = format!("FAULTBOX_TEST_TAG={tag}");
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        })
        .collect()
}

/// Waits until no tagged process is left, up to `secs`; returns those left.
pub fn wait_until_gone(tag: &str, secs: u64) -> Vec<u32> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = tagged_processes(tag);
        if left.is_empty() || std::time::Instant::now() > until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// (pid, parent pid, command line) of every tagged process.
pub fn tagged_tree(tag: &str) -> Vec<(u32, u32, String)> {
    tagged_processes(tag)
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the parenthesised command: state, ppid, ...
            let ppid = stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            Some((pid, ppid, cmdline.trim().to_string()))
        })
        .collect()
}

pub mod schema;

/// The whole catalog in every model, `compare --check --repeat 2` with
/// more jobs than cores, run once per test process beside busy loops
/// (two per core) that it starts and stops itself: the load test's run,
/// and the full run that the schema and the 80-column table are checked
/// on. Its trials run alone (`tests/main.rs`), so the hogs load no other.
pub struct FullRun {
    pub code: Option<i32>,
    /// The table, as a pipe gets it (80 columns).
    pub table: String,
    pub stderr: String,
    /// The same run's JSON report (`--export-json`).
    pub json: serde_json::Value,
    pub hogs: usize,
}

pub fn full_run() -> &'static FullRun {
    static RUN: std::sync::OnceLock<FullRun> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dir = Scratch::new("full-run");
        let export = dir.0.join("report.json");
        let hogs = Hogs::start(2 * cores);
        let mut cmd = std::process::Command::new(FAULTBOX);
        cmd.args(["compare", "--check", "--repeat", "2", "--jobs", &(2 * cores + 1).to_string(), "--export-json"]).arg(&export);
        // The terminal a pipe has: no width, no colour, a UTF-8 locale.
        for k in ["COLUMNS", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "LC_ALL", "LC_CTYPE"] {
            cmd.env_remove(k);
        }
        cmd.env("LANG", "C.UTF-8").env("TERM", "xterm-256color");
        let out = cmd.output().unwrap();
        drop(hogs);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = std::fs::read_to_string(&export)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| panic!("the full run wrote no JSON report (exit {:?}): {stderr}", out.status.code()));
        FullRun { code: out.status.code(), table: String::from_utf8_lossy(&out.stdout).into_owned(), stderr, json, hogs: 2 * cores }
    })
}

/// Busy loops that end with the guard, whatever happens to the test.
pub struct Hogs(Vec<std::process::Child>);

impl Hogs {
    pub fn start(n: usize) -> Hogs {
        Hogs(
            (0..n)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(std::process::Stdio::null())
                        .spawn()
                        .expect("start a busy loop")
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for hog in &mut self.0 {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}

/// How long a test waits for an event that comes within a second on a
/// working faultbox (a process ending, a worker starting) before it calls
/// the wait a hang. Only a hang reaches it: it is no claim about speed,
/// and no load delays a working run that far.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `cmd` to its end with its output; a run that hangs past [`HANG`]
/// is killed and fails the test.
pub fn output_or_hang(cmd: &mut std::process::Command) -> std::process::Output {
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let done = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let watch = done.clone();
    // The output is drained as it comes (a full pipe would stall the
    // child); the watchdog waits for the end, or kills at HANG.
    let watchdog = std::thread::spawn(move || {
        let (lock, ended) = &*watch;
        let (finished, _) = ended.wait_timeout_while(lock.lock().unwrap(), HANG, |finished| !*finished).unwrap();
        if !*finished {
            // SAFETY: the child is not reaped before `done` is set.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let out = child.wait_with_output().unwrap();
    {
        let (lock, ended) = &*done;
        *lock.lock().unwrap() = true;
        ended.notify_all();
    }
    assert!(!watchdog.join().unwrap(), "{cmd:?} hung: killed after {HANG:?}");
    out
}

/// Waits until `ready()` holds, polling; a wait past [`HANG`] fails with
/// `what`.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + HANG;
    while !ready() {
        assert!(std::time::Instant::now() < until, "{what}: not within {HANG:?}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
