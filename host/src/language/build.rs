//! Building a guest language's artifacts once and caching them, keyed by
//! what went into them (sources and toolchain), shared by every faultbox
//! process on the machine.

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
pub fn artifact_root() -> PathBuf {
    match crate::wasm::ModuleCache::from_env().dir() {
        // Absolute: the builds run in the sources' directory.
        Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()).join("guests"),
        None => {
            // SAFETY: getuid cannot fail.
            let uid = unsafe { libc::getuid() };
            let dir = std::env::temp_dir().join(format!("faultbox-{uid}-guests"));
            // A shared directory: ours alone, or another user could plant
            // the programs faultbox execs.
            use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
            let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o022 == 0 => dir,
                // Someone else's: a directory of this process's own instead.
                _ => std::env::temp_dir().join(format!("faultbox-{uid}-{}-guests", std::process::id())),
            }
        }
    }
}

/// How long a build command may run before it is killed and the build
/// counted as failed, and how long a toolchain query (`go version`) may.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `cmd` to its end, killed after `limit`. Its output goes through
/// files, so a chatty command cannot block on a full pipe.
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::io::Result<std::process::Output> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = std::env::temp_dir().join(format!("faultbox-cmd-{}-{n}", std::process::id()));
    let (out_path, err_path) = (base.with_extension("out"), base.with_extension("err"));
    let result = (|| {
        let mut own = crate::process::spawn_own(
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::fs::File::create(&out_path)?)
                .stderr(std::fs::File::create(&err_path)?),
        )?;
        let child = &mut own.0;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("still running after {} s: killed", limit.as_secs())));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(std::process::Output { status, stdout: std::fs::read(&out_path)?, stderr: std::fs::read(&err_path)? })
    })();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    result
}

/// The list of files a finished build holds, written last: a directory
/// without it, or missing one of its files, is not a finished build.
const COMPLETE: &str = ".complete";

fn complete(dir: &Path) -> bool {
    let Ok(list) = std::fs::read_to_string(dir.join(COMPLETE)) else { return false };
    list.lines().all(|f| dir.join(f).is_file())
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
    if complete(&done) {
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
    if complete(&done) {
        return Ok((done, None));
    }
    // Half there (files deleted since, or an older faultbox's build):
    // built again.
    let _ = std::fs::remove_dir_all(&done);
    let partial = root.join(format!("{language}-{key}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| failed("cannot create the build directory", e))?;
    let started = Instant::now();
    if let Err(e) = build(&partial) {
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
    std::fs::write(partial.join(COMPLETE), files.join("\n") + "\n").map_err(|e| failed("cannot finish the build", e))?;
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
