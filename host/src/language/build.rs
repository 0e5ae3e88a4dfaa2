//! Building a guest language's artifacts once and caching them, keyed by
//! what went into them (sources and toolchain), shared by every faultbox
//! process on the machine.

use crate::trust;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Why a language's guests cannot run here. Reported as `skipped` on a
/// user's machine; under `CI` it fails the run instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The toolchain is missing or too old: `install` says what to do.
    Missing { what: String, install: String },
    /// The toolchain is there but building the guest failed.
    BuildFailed { problem: String },
}

impl Unavailable {
    /// One line for the reports.
    pub fn line(&self) -> String {
        match self {
            Unavailable::Missing { what, install } => format!("{what} not found: {install}"),
            Unavailable::BuildFailed { problem } => problem.clone(),
        }
    }
}

/// What a language's build produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    /// The native programs (`NativeLauncher::Exec`), in order of
    /// preference: an entry runs in the first that offers it.
    pub natives: Vec<NativeProgram>,
    /// The wasm module, if built.
    pub wasm: Option<PathBuf>,
    /// Entries the wasm module exports (`fb_<entry>`, from the module).
    pub wasm_entries: BTreeSet<String>,
    /// The toolchain that built them, e.g. `go1.26.8 linux/amd64, cgo on`.
    pub toolchain: String,
    /// How long building took in this process; `None` when they came from
    /// the cache.
    pub built_ms: Option<u64>,
}

/// One native program a language's build made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeProgram {
    pub path: PathBuf,
    /// Entries it offers (asked of the program itself).
    pub entries: BTreeSet<String>,
    /// How it was built, for the evidence (`CGO_ENABLED=0`).
    pub how: String,
}

impl Artifacts {
    /// The program that runs `entry`, if any does.
    pub fn native_for(&self, entry: &str) -> Option<&NativeProgram> {
        self.natives.iter().find(|p| p.entries.contains(entry))
    }
}

/// Where built artifacts live: beside faultbox's module cache, else (cache
/// off) in a per-user directory under the system's temporary directory.
/// faultbox execs and loads what is there, so the directory must be
/// private to this user all the way up ([`trust::private_path`]); when it
/// is not (another user's cache directory, a name someone created first),
/// this process builds in a fresh private directory instead, says so once,
/// and removes it at exit ([`remove_scratch`]).
pub fn artifact_root() -> Result<PathBuf, Unavailable> {
    static ROOT: std::sync::OnceLock<Result<PathBuf, Unavailable>> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let wanted = wanted_root();
        match trust::private_dir(&wanted) {
            Ok(dir) => Ok(dir),
            Err(why) => {
                let fresh = trust::fresh_private_dir("faultbox-guests-").map_err(|e| Unavailable::BuildFailed {
                    problem: format!("{} is not private to this user ({why}), and no private directory can be made in {}: {e}", wanted.display(), std::env::temp_dir().display()),
                })?;
                eprintln!(
                    "faultbox: {} is not private to this user ({why}): the guests are built in {} for this run instead",
                    crate::process::escape_terminal(&wanted.display().to_string()),
                    fresh.display()
                );
                *SCRATCH.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
                Ok(fresh)
            }
        }
    })
    .clone()
}

/// The artifact root asked for: `guests/` in the module cache, else a
/// per-user directory under the system's temporary directory.
fn wanted_root() -> PathBuf {
    match crate::wasm::ModuleCache::from_env().dir() {
        // Absolute: the builds run in the sources' directory.
        Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()).join("guests"),
        // SAFETY: geteuid cannot fail.
        None => std::env::temp_dir().join(format!("faultbox-{}-guests", unsafe { libc::geteuid() })),
    }
}

/// Removes what killed builds left in the artifact root
/// ([`sweep_unfinished`]), when that root exists and is private to this
/// user (nothing is created, nothing said): called as faultbox starts.
pub fn sweep_at_start() {
    let root = wanted_root();
    if root.is_dir() && trust::private_path(&root).is_ok() {
        sweep_unfinished(&root);
    }
}

/// Removes what builds that never finished left in `root`: each
/// `<name>.partial-<pid>` directory (with the temporary files of its
/// build, [`build_tmp`]) whose `<name>.lock` nobody holds. A build holds
/// its lock from before it makes that directory until it has renamed or
/// removed it, so a partial directory with a free lock belongs to a
/// faultbox that was killed.
fn sweep_unfinished(root: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some((stem, pid)) = name.to_str().and_then(|n| n.rsplit_once(".partial-")) else { continue };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(root.join(format!("{stem}.lock")));
        let free = match &lock {
            // SAFETY: flock on a descriptor we own; released when dropped.
            Ok(f) => (unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(f), libc::LOCK_EX | libc::LOCK_NB) }) == 0,
            // A build makes its lock before its directory.
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if free {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The fresh directory [`artifact_root`] made for this process, if any.
static SCRATCH: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// Removes the directory [`artifact_root`] made for this process alone
/// (a whole Go build cache: not left behind in the temporary directory).
pub fn remove_scratch() {
    if let Some(dir) = SCRATCH.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// How long a build command may run before it is killed and the build
/// counted as failed, and how long a toolchain query (`go version`) may;
/// `FAULTBOX_TOOL_TIMEOUT_MS` replaces both ([`deadline`]).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The deadline of a tool call whose default is `default`:
/// `FAULTBOX_TOOL_TIMEOUT_MS` when set (checked when the CLI starts).
pub fn deadline(default: Duration) -> Duration {
    crate::limits::TOOL_TIMEOUT_VAR.get().ok().flatten().unwrap_or(default)
}

/// A deadline as a person reads it: `30 s`, `1500 ms`.
pub fn shown(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{} ms", d.as_millis()) }
}

/// Runs `cmd` to its end, killed with everything it started after `limit`
/// ([`deadline`] of it), or as soon as faultbox ends ([`guard`]). Its
/// output goes to anonymous memory files, so a chatty command cannot
/// block on a full pipe, and no path exists that someone could have
/// planted a symlink or a FIFO at first.
///
/// [`guard`]: super::guard
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::io::Result<std::process::Output> {
    let limit = deadline(limit);
    let (mut out, mut err) = (anonymous_file("faultbox-cmd-out")?, anonymous_file("faultbox-cmd-err")?);
    let mut own = crate::process::spawn_own(super::guard::guarded(
        cmd.stdin(std::process::Stdio::null()).stdout(out.try_clone()?).stderr(err.try_clone()?),
    ))?;
    let child = &mut own.0;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            super::guard::stop(child.id());
            let _ = child.wait();
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("still running after {}: killed", shown(limit))));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |f: &mut std::fs::File| -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Seek};
        f.seek(std::io::SeekFrom::Start(0))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    Ok(std::process::Output { status, stdout: read(&mut out)?, stderr: read(&mut err)? })
}

/// A file with no name (`memfd_create`), gone when its last descriptor
/// closes.
fn anonymous_file(name: &str) -> std::io::Result<std::fs::File> {
    let name = std::ffi::CString::new(name).expect("no NUL in a literal");
    // SAFETY: a valid C string; the descriptor returned is owned here.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// A toolchain query (`clang --version`) run within its [`deadline`]:
/// `Ok(None)` when the tool is not there (not found, not executable). A
/// tool that does not answer in time makes the toolchain unusable here,
/// as a missing one is (skipped; an error under `CI`), said in one line
/// that names the tool and the variable that chose it.
pub fn query(cmd: &mut Command, var: &str, what: &str) -> Result<Option<std::process::Output>, Unavailable> {
    let line = format!("{} {}", cmd.get_program().to_string_lossy(), cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    match output_within(cmd, QUERY_TIMEOUT) {
        Ok(out) => Ok(Some(out)),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(unanswered(var, what, &line, &e)),
        Err(e) => Err(Unavailable::BuildFailed { problem: format!("`{}`: {e}", crate::process::escape_terminal(&line)) }),
    }
}

/// A tool chosen by `var` (or found on PATH) that ran past its deadline.
pub fn unanswered(var: &str, what: &str, command: &str, e: &std::io::Error) -> Unavailable {
    let chosen = match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => format!("{var}={}", v.to_string_lossy()),
        None => format!("{var} unset"),
    };
    Unavailable::Missing {
        what: format!("a working {what}"),
        install: crate::process::escape_terminal(&format!("{chosen}: `{command}` {e} (set {var} to one that works)")).into_owned(),
    }
}

/// The directory a build's temporary files go to (`TMPDIR`, `GOTMPDIR`):
/// inside its unfinished build directory, so that what a killed build
/// left is removed with it ([`cached_dir`] makes it and removes it).
pub fn build_tmp(out: &Path) -> PathBuf {
    out.join(".tmp")
}

/// The list of files a finished build holds, each with its MAC under the
/// user's key ([`trust::secret_key`] in the artifact root), written last: a
/// directory without it, missing one of its files, or holding one that
/// faultbox did not make, is not a finished build.
const COMPLETE: &str = ".complete";
/// The largest artifact that is checked (and so ever run) from the cache.
const MAX_ARTIFACT: u64 = 1 << 30;

fn complete(dir: &Path, key: &trust::Key) -> bool {
    if trust::private_path(dir).is_err() {
        return false;
    }
    let Some((file, len)) = trust::open_private_regular(&dir.join(COMPLETE), 1 << 20) else { return false };
    let Some(list) = trust::read_bounded(file, len).and_then(|b| String::from_utf8(b).ok()) else { return false };
    let mut lines = list.lines().peekable();
    lines.peek().is_some()
        && lines.all(|line| {
            let Some((name, mac)) = line.split_once(' ') else { return false };
            !name.contains('/')
                && trust::file_mac(key, name, &dir.join(name), MAX_ARTIFACT).is_some_and(|m| trust::constant_time_eq(trust::hex(&m).as_bytes(), mac.as_bytes()))
        })
}

/// A SHA-256 key over `parts` and every regular file directly in `dir`
/// (sorted by name, name and contents both count).
pub fn source_key(dir: &Path, parts: &[&str]) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(&f)?;
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect())
}

/// The directory `<root>/<language>-<key>`, built by `build` into a fresh
/// directory on first use. Concurrent faultbox processes wait for one
/// another on a lock file instead of building the same thing twice, and a
/// half-built directory never takes the final name.
pub fn cached_dir(
    root: &Path,
    language: &str,
    key: &str,
    build: impl FnOnce(&Path) -> Result<(), Unavailable>,
) -> Result<(PathBuf, Option<u64>), Unavailable> {
    let failed = |what: &str, e: std::io::Error| Unavailable::BuildFailed { problem: format!("{}: {what}: {e}", root.display()) };
    let done = root.join(format!("{language}-{key}"));
    let mac_key = trust::secret_key(root).ok_or_else(|| Unavailable::BuildFailed {
        problem: format!("{}: no key private to this user can be kept there", root.display()),
    })?;
    if complete(&done, &mac_key) {
        return Ok((done, None));
    }
    std::fs::create_dir_all(root).map_err(|e| failed("cannot create the directory", e))?;
    let lock = std::fs::File::create(root.join(format!("{language}-{key}.lock"))).map_err(|e| failed("lock file", e))?;
    // SAFETY: flock on a descriptor this function owns; released on drop.
    while unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(failed("flock", e));
        }
    }
    if complete(&done, &mac_key) {
        return Ok((done, None));
    }
    // Half there (files deleted since, or an older faultbox's build):
    // built again.
    let _ = std::fs::remove_dir_all(&done);
    let partial = root.join(format!("{language}-{key}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| failed("cannot create the build directory", e))?;
    {
        // Private whatever the umask: `complete` refuses a directory others
        // can write to.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).map_err(|e| failed("cannot protect the build directory", e))?;
    }
    std::fs::create_dir(build_tmp(&partial)).map_err(|e| failed("cannot create the build's temporary directory", e))?;
    let started = Instant::now();
    let built = build(&partial);
    let _ = std::fs::remove_dir_all(build_tmp(&partial));
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    let mut files: Vec<String> = std::fs::read_dir(&partial)
        .map_err(|e| failed("cannot list the build", e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    if files.is_empty() {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(Unavailable::BuildFailed { problem: format!("{}: the build succeeded but left nothing there", partial.display()) });
    }
    let mut list = String::new();
    for name in &files {
        let path = partial.join(name);
        // Nobody else may write what faultbox will run (a umask of 0).
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map_err(|e| failed("cannot read the build", e))?.permissions().mode();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o755)).map_err(|e| failed("cannot protect the build", e))?;
        let Some(mac) = trust::file_mac(&mac_key, name, &path, MAX_ARTIFACT) else {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(Unavailable::BuildFailed { problem: format!("{}: not a regular file of at most 1 GiB", path.display()) });
        };
        list.push_str(&format!("{name} {}\n", trust::hex(&mac)));
    }
    std::fs::write(partial.join(COMPLETE), list).map_err(|e| failed("cannot finish the build", e))?;
    std::fs::rename(&partial, &done).map_err(|e| failed("cannot move the build into place", e))?;
    Ok((done, Some(started.elapsed().as_millis() as u64)))
}

/// Runs a build command; a failure names the command and ends with the
/// last lines it printed.
pub fn run(cmd: &mut Command, what: &str) -> Result<(), Unavailable> {
    let out = output_within(cmd, BUILD_TIMEOUT).map_err(|e| Unavailable::BuildFailed { problem: format!("{what}: {e}") })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" / ");
    Err(Unavailable::BuildFailed { problem: format!("{what} failed ({}): {tail}", out.status) })
}

/// The `fb_<entry>` exports of a wasm module, as entry names.
pub fn wasm_entries(bytes: &[u8]) -> BTreeSet<String> {
    let mut entries = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::ExportSection(reader)) = payload {
            for export in reader.into_iter().flatten() {
                if export.kind == wasmparser::ExternalKind::Func
                    && let Some(entry) = export.name.strip_prefix("fb_")
                {
                    entries.insert(entry.to_string());
                }
            }
        }
    }
    entries.remove("health");
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_a_source_and_with_the_toolchain() {
        let dir = std::env::temp_dir().join(format!("fb-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.go"), "package main").unwrap();
        let k1 = source_key(&dir, &["go1.26"]).unwrap();
        assert_eq!(k1, source_key(&dir, &["go1.26"]).unwrap());
        assert_ne!(k1, source_key(&dir, &["go1.25"]).unwrap());
        std::fs::write(dir.join("a.go"), "package main // changed").unwrap();
        assert_ne!(k1, source_key(&dir, &["go1.26"]).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Only an unfinished build whose lock is free is removed: one whose
    /// lock is held is being built now.
    #[test]
    fn a_sweep_removes_only_unfinished_builds_nobody_is_building() {
        let root = std::env::temp_dir().join(format!("fb-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["go-a.partial-11", "go-b.partial-22", "c-c.partial-33", "go-a", "x.partial-nope", "c-d.partial-44"] {
            std::fs::create_dir_all(root.join(dir).join(".tmp")).unwrap();
        }
        for lock in ["go-a.lock", "go-b.lock", "c-d.lock"] {
            std::fs::write(root.join(lock), "").unwrap();
        }
        // Another faultbox building `go-b` now (a lock on another open file).
        let held = std::fs::File::open(root.join("go-b.lock")).unwrap();
        assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        sweep_unfinished(&root);
        let mut left: Vec<String> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| !n.ends_with(".lock")).collect();
        left.sort();
        // `c-c` had no lock file at all: a build makes its lock first.
        assert_eq!(left, ["go-a", "go-b.partial-22", "x.partial-nope"]);
        drop(held);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_tool_past_its_deadline_is_killed_with_what_it_started() {
        let tag = format!("fb-deadline-{}", std::process::id());
        let err = output_within(Command::new("sh").args(["-c", "sleep 1000 & sleep 1000"]).env("FB_DEADLINE_TEST", &tag), Duration::from_millis(300))
            .expect_err("past its deadline");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "still running after 300 ms: killed");
        let needle = format!("FB_DEADLINE_TEST={tag}");
        let left: Vec<u32> = crate::process::all_pids()
            .filter(|p| std::fs::read(format!("/proc/{p}/environ")).is_ok_and(|e| e.split(|&b| b == 0).any(|v| v == needle.as_bytes())))
            .collect();
        assert!(left.is_empty(), "left running: {left:?}");
    }

    #[test]
    fn deadlines_read_as_people_say_them() {
        for (d, want) in [(Duration::from_secs(30), "30 s"), (Duration::from_millis(1500), "1500 ms"), (Duration::from_millis(300), "300 ms")] {
            assert_eq!(shown(d), want);
        }
    }

    #[test]
    fn a_failed_build_leaves_nothing_under_the_final_name() {
        let root = std::env::temp_dir().join(format!("fb-cache-{}", std::process::id()));
        let r = cached_dir(&root, "x", "k", |_| Err(Unavailable::BuildFailed { problem: "no".into() }));
        assert!(r.is_err());
        assert!(!root.join("x-k").exists());
        let (dir, built) = cached_dir(&root, "x", "k", |d| std::fs::write(d.join("f"), "1").map_err(|e| Unavailable::BuildFailed { problem: e.to_string() })).unwrap();
        assert!(built.is_some() && dir.join("f").is_file());
        let (_, again) = cached_dir(&root, "x", "k", |_| panic!("built twice")).unwrap();
        assert_eq!(again, None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
