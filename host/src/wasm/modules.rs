//! Compiled modules, cached on disk across runs.
//!
//! Cranelift takes a noticeable time to compile the guest, and every worker
//! process would pay it again. Compiled artifacts are kept as wasmtime's
//! serialized modules, keyed by the engine's compatibility hash (wasmtime
//! version, target, every codegen setting) and the module's bytes.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::{Engine, Module};

#[derive(Clone, Debug)]
pub struct ModuleCache {
    dir: Option<PathBuf>,
}

impl ModuleCache {
    /// `$FAULTBOX_CACHE_DIR` (`off` disables the cache), else
    /// `$XDG_CACHE_HOME/faultbox`, else `~/.cache/faultbox`.
    pub fn from_env() -> ModuleCache {
        let dir = match std::env::var_os("FAULTBOX_CACHE_DIR") {
            Some(v) if v == "off" => None,
            Some(v) => Some(PathBuf::from(v)),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|d| d.join("faultbox")),
        };
        ModuleCache { dir }
    }

    pub fn disabled() -> ModuleCache {
        ModuleCache { dir: None }
    }

    /// Loads the compiled form of `bytes` for `engine`, compiling (and
    /// storing) it when it is not cached.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<Module> {
        let Some(dir) = &self.dir else {
            return Module::new(engine, bytes).map_err(anyhow::Error::from);
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        bytes.hash(&mut h);
        let path = dir.join(format!("{:016x}.cwasm", h.finish()));
        if path.exists() {
            // SAFETY: the file was written by `Module::serialize` below into
            // faultbox's own cache directory; wasmtime checks its header and
            // compatibility before using it.
            if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
                return Ok(module);
            }
        }
        let module = Module::new(engine, bytes).map_err(anyhow::Error::from)?;
        // The cache is an optimisation: failing to write it is not an error.
        if let Ok(serialized) = module.serialize() {
            let _ = std::fs::create_dir_all(dir);
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
        Ok(module)
    }
}
