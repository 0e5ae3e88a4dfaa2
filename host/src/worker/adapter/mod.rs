//! Starting an out-of-process engine adapter (`engines/<folder>/`): the
//! command that runs it, built first where it needs a build, or why it
//! cannot run on this machine. The supervisor then treats the process as
//! any worker: its own process group, the parent-death signal, deadlines,
//! lost-worker detection (`client`).
//!
//! Layer 4, the supervisor's side, beside `client`.

use crate::language::build::{self, Unavailable};
use crate::registry::{Adapter, AdapterRuntime, EngineConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

pub mod spec;

/// Overrides where the adapters' sources are (else the `engines/` of the
/// source tree faultbox was built from).
pub const ENGINES_ENV: &str = "FAULTBOX_ENGINES";
/// The `node` to run the V8 adapter with (else `node` on PATH).
pub const NODE_ENV: &str = "FAULTBOX_NODE";

/// Node.js 20 is the oldest with what the V8 adapter uses: `node:wasi`'s
/// `version: 'preview1'` and `returnOnExit`, and a worker thread's
/// `resourceLimits.stackSizeMb`.
const NODE_MIN_MAJOR: u32 = 20;

/// The folder that holds every adapter's sources.
pub fn engines_root() -> PathBuf {
    std::env::var_os(ENGINES_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../engines")), PathBuf::from)
}

/// How to start one adapter: the program and the arguments before the
/// model's name.
#[derive(Clone, Debug)]
pub struct Launcher {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// What runs it, for evidence: `node v20.20.2`, `go1.26.8 linux/amd64`.
    pub runtime: String,
}

impl Launcher {
    pub fn command(&self, model: EngineConfig) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).arg(model.name());
        cmd
    }
}

/// The launcher of `model`'s adapter, found (and built) once per process;
/// `None` for a configuration embedded in faultbox.
pub fn launcher(model: EngineConfig) -> Option<Result<Launcher, Unavailable>> {
    let adapter = model.row().start.adapter()?;
    static FOUND: OnceLock<Mutex<HashMap<(&'static str, Vec<&'static str>), Result<Launcher, Unavailable>>>> = OnceLock::new();
    let key = (adapter.folder, adapter.flags.to_vec());
    let found = FOUND.get_or_init(Default::default);
    // One lookup at a time: a Go adapter is built once, not by every
    // thread that asks at the start of a run.
    let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
    Some(found.entry(key).or_insert_with(|| find(adapter)).clone())
}

fn find(adapter: Adapter) -> Result<Launcher, Unavailable> {
    let dir = engines_root().join(adapter.folder);
    if !dir.is_dir() {
        return Err(Unavailable::BuildFailed { problem: format!("{}: the {} adapter's sources are not there (set {ENGINES_ENV})", dir.display(), adapter.folder) });
    }
    match adapter.runtime {
        AdapterRuntime::Node => node(&dir, adapter),
        AdapterRuntime::Go => go(&dir),
    }
}

fn node(dir: &Path, adapter: Adapter) -> Result<Launcher, Unavailable> {
    let missing = |found: Option<&str>| Unavailable::Missing {
        what: match found {
            Some(v) => format!("Node.js ≥ {NODE_MIN_MAJOR} for the V8 engine (found {v})"),
            None => format!("Node.js ≥ {NODE_MIN_MAJOR} for the V8 engine"),
        },
        install: format!("install Node.js {NODE_MIN_MAJOR} or newer (Debian: `apt-get install nodejs`) and put `node` on PATH (or set {NODE_ENV})"),
    };
    let node = std::env::var_os(NODE_ENV).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from("node"), PathBuf::from);
    let out = build::output_within(Command::new(&node).arg("--version"), build::QUERY_TIMEOUT).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => missing(None),
        _ => Unavailable::BuildFailed { problem: format!("`{} --version`: {e}", node.display()) },
    })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major = version.strip_prefix('v').and_then(|v| v.split('.').next()).and_then(|m| m.parse::<u32>().ok());
    if !out.status.success() || major.is_none_or(|m| m < NODE_MIN_MAJOR) {
        return Err(missing(Some(&version)));
    }
    let script = dir.join("adapter.mjs");
    if !script.is_file() {
        return Err(Unavailable::BuildFailed { problem: format!("{}: no such file", script.display()) });
    }
    let mut args: Vec<String> = adapter.flags.iter().map(|f| f.to_string()).collect();
    args.push(script.to_string_lossy().into_owned());
    Ok(Launcher { program: node, args, runtime: format!("node {version}") })
}

/// The Go adapter, built into faultbox's artifact cache, keyed by its
/// sources and the toolchain: `go build` fetches its module (go.sum is
/// committed) through the Go module proxy on the first build.
fn go(dir: &Path) -> Result<Launcher, Unavailable> {
    let tc = crate::language::go::toolchain().map_err(|e| match e {
        Unavailable::Missing { what, install } => Unavailable::Missing { what: format!("{what} for the wazero engine"), install },
        other => other,
    })?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let key = build::source_key(dir, &["faultbox-go-adapter-1", &tc.version, &tc.goos_goarch])
        .map_err(|e| Unavailable::BuildFailed { problem: format!("{}: cannot read the adapter's sources: {e}", dir.display()) })?;
    let (built, _) = build::cached_dir(&build::artifact_root()?, &format!("engine-{name}"), &key, |out| {
        build::run(
            crate::language::go::go_command(&tc.go)
                .current_dir(dir)
                .env("CGO_ENABLED", "0")
                .args(["build", "-trimpath", "-mod=readonly", "-o"])
                .arg(out.join("adapter"))
                .arg("."),
            &format!("go build of the {name} adapter in {}", dir.display()),
        )
    })?;
    Ok(Launcher { program: built.join("adapter"), args: Vec::new(), runtime: tc.describe() })
}
