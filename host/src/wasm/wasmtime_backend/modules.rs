//! Compiled modules, cached on disk across runs.
//!
//! Cranelift takes a noticeable time to compile the guest, and every worker
//! process would pay it again. Compiled artifacts are kept as wasmtime's
//! serialized modules.
//!
//! A serialized module is native code that wasmtime runs without checking
//! it, so an entry is only ever used when it is provably the one faultbox
//! compiled from these module bytes with this engine:
//!
//! - the entry's name is a SHA-256 over the engine's compatibility hash
//!   (wasmtime version, target, every codegen setting) and the module bytes,
//!   so two modules never share an entry by accident;
//! - the entry carries an HMAC-SHA-256, under a per-user secret key kept in
//!   the cache directory (mode 0600), over that name and the artifact, so an
//!   entry that was swapped, edited, truncated or written by someone without
//!   the key is refused;
//! - the entry is read once into memory (`O_NOFOLLOW`, regular files only,
//!   bounded size, never blocking), verified there, and deserialized from
//!   that private copy: a file changed after the check cannot reach the
//!   worker (no mapping of the file that truncation could turn into SIGBUS).
//!
//! Anything wrong with the cache falls back to compiling: the cache is an
//! optimisation and never a guest's outcome.

use crate::trust::{KEY_LEN, MAC_LEN, constant_time_eq, hex, mac, open_private_regular, read_bounded, secret_key};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// Artifacts larger than this are not cached (and entries claiming to be
/// larger are never read): the stock guest compiles to a few MiB.
const MAX_ENTRY: u64 = 256 << 20;
/// The first bytes of every entry; the version changes with the layout.
const MAGIC: &[u8; 8] = b"fbcwasm1";

#[derive(Clone, Debug)]
pub struct ModuleCache {
    dir: Option<PathBuf>,
}

impl ModuleCache {
    /// `$FAULTBOX_CACHE_DIR` (`off` or empty disables the cache; an empty
    /// value must not silently mean the current directory), else
    /// `$XDG_CACHE_HOME/faultbox`, else `~/.cache/faultbox`. Relative
    /// XDG/HOME values are ignored, as the XDG specification asks.
    pub fn from_env() -> ModuleCache {
        let dir = match std::env::var_os("FAULTBOX_CACHE_DIR") {
            Some(v) if v == "off" || v.is_empty() => None,
            Some(v) => Some(PathBuf::from(v)),
            None => absolute_env("XDG_CACHE_HOME")
                .or_else(|| absolute_env("HOME").map(|h| h.join(".cache")))
                .map(|d| d.join("faultbox")),
        };
        ModuleCache { dir }
    }

    /// The cache directory, if caching is on. Other build artifacts (a
    /// guest language's builds) live beside the compiled modules.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    pub fn disabled() -> ModuleCache {
        ModuleCache { dir: None }
    }

    /// Loads the compiled form of `bytes` for `engine`, compiling (and
    /// storing) it when no trustworthy entry is cached.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<Module> {
        let Some(dir) = &self.dir else {
            return Module::new(engine, bytes).map_err(anyhow::Error::from);
        };
        let name = entry_name(engine, bytes);
        let key = secret_key(dir);
        if let Some(key) = &key
            && let Some(artifact) = read_entry(&dir.join(&name), key, &name)
        {
            // SAFETY: `artifact` is a private in-memory copy whose MAC under
            // the user's secret key proves faultbox serialized it for exactly
            // these module bytes and this engine (the name binds both).
            if let Ok(module) = unsafe { Module::deserialize(engine, &artifact) } {
                return Ok(module);
            }
        }
        let module = Module::new(engine, bytes).map_err(anyhow::Error::from)?;
        if let (Some(key), Ok(artifact)) = (&key, module.serialize()) {
            write_entry(dir, &name, key, &artifact);
        }
        Ok(module)
    }
}

fn absolute_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute())
}

/// Feeds `Hash` output into SHA-256, for the engine's compatibility hash,
/// which wasmtime exposes only as `impl Hash`.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is used")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The entry's file name: which engine, which module bytes.
fn entry_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let mut h = Sha256::new();
    h.update(b"faultbox module cache v1\0");
    h.update(engine_hash.0.finalize());
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
    format!("{}.cwasm", hex(&h.finalize()))
}

/// The artifact stored at `path`, if the entry is intact and ours.
fn read_entry(path: &Path, key: &[u8; KEY_LEN], name: &str) -> Option<Vec<u8>> {
    let (file, len) = open_private_regular(path, MAX_ENTRY + (MAGIC.len() + MAC_LEN) as u64)?;
    let mut data = read_bounded(file, len)?;
    let header = MAGIC.len() + MAC_LEN;
    if data.len() < header || &data[..MAGIC.len()] != MAGIC {
        return None;
    }
    let stored: [u8; MAC_LEN] = data[MAGIC.len()..header].try_into().ok()?;
    if !constant_time_eq(&stored, &mac(key, name, &data[header..])) {
        return None;
    }
    data.drain(..header);
    Some(data)
}

/// Stores `artifact` as `dir/name`, atomically: a reader sees the whole
/// entry or none. Failing to write is not an error; the temporary file is
/// removed whatever happens.
fn write_entry(dir: &Path, name: &str, key: &[u8; KEY_LEN], artifact: &[u8]) {
    if artifact.len() as u64 > MAX_ENTRY {
        return;
    }
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&mac(key, name, artifact))?;
        f.write_all(artifact)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
