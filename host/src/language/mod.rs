//! Guest languages: one descriptor per language, registered in one table
//! ([`DESCRIPTORS`]).
//!
//! A descriptor says everything faultbox needs to run a language's guests
//! in both execution models: where its sources live, how its wasm and
//! native artifacts are built (and cached), how its wasm artifact is called,
//! how its native artifact is launched, what its in-process recovery
//! mechanism is, and how its deaths read. Adding a language is one
//! descriptor here plus its sources under `guests/<language>/`; nothing
//! else in the host names a language.

pub mod build;
pub mod c;
pub mod go;
pub mod guard;
pub mod prebuilt;
pub mod rust;
pub mod wat;

use crate::model::Language;
use crate::outcome::FaultClass;
use std::path::{Path, PathBuf};

/// How a language's wasm artifact is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmAbi {
    /// faultbox's own ABI: `fb_<entry>` `(i64) -> i64` and `fb_health`,
    /// imports from module `fb` only (the Rust guest, `.wat` guests).
    Exports,
    /// A WASI preview 1 reactor with `fb_<entry>` exports: `_initialize`
    /// runs once after instantiation, the runtime's output goes to WASI
    /// stdout/stderr. `reuse_rounds` further (scenario, `fb_health`) rounds
    /// on the same instance decide whether it is still usable: a runtime
    /// that keeps state in wasm globals can look healthy once after a trap
    /// and break later.
    WasiReactor { reuse_rounds: u32 },
}

/// How a language's native artifact runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeLauncher {
    /// Linked into faultbox and called in the fork server's child (the
    /// language has no runtime threads that a fork would break).
    InProcess,
    /// A program exec'd per run from the fork server's child, with the
    /// scenario and its argument as arguments and a report pipe whose
    /// number is in `FAULTBOX_REPORT_FD`. The runtime reserves address
    /// space at start-up before the scenario runs, so RLIMIT_AS is the
    /// manifest's memory plus this floor.
    Exec { address_space_floor_mib: u64 },
    /// A shared library, dlopen'd once by the fork server and called in its
    /// forked child like a linked entry: `fb_<entry>(i64) -> i64` and
    /// `fb_health() -> i64`, progress through the function pointer the
    /// library exports as `fb_progress_hook` (and recoveries through
    /// `fb_recovered_hook`). For a language with no runtime threads (C).
    Library,
    /// The language has no native form (hand-written wasm).
    None { why: &'static str },
}

/// One line a runtime prints as it dies, and the fault class it means. The
/// first line of a death's stderr that starts with one of a language's
/// marks decides (a prefix at column 0, not a substring: a message quoted
/// inside another line, or an indented line of a panic message, does not
/// count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeathMark {
    /// How one stderr line starts.
    pub line: &'static str,
    pub class: FaultClass,
}

/// How a recovered panic's message reads as a fault class (the first match
/// wins; no match: [`FaultClass::Panic`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveredMark {
    /// How the recovered value's type starts (`runtime.`).
    pub kind: &'static str,
    pub message: &'static str,
    pub class: FaultClass,
}

/// Everything faultbox knows about one guest language.
#[derive(Debug)]
pub struct Descriptor {
    pub language: Language,
    /// Its sources, relative to the source tree's `guests/`.
    pub sources: &'static str,
    /// The in-process recovery mechanism the native model measures.
    pub recovery: &'static str,
    pub wasm: WasmAbi,
    pub native: NativeLauncher,
    /// Some of its entries exist only in its native build (cgo, signal
    /// handlers): its wasm module may lack an `fb_<entry>` export, and a
    /// manifest may expect `n/a` in the wasm models, which the supervisor
    /// then observes from the artifact. `false`: every entry runs in wasm.
    pub native_only_entries: bool,
    /// How its native deaths (and its wasm deaths, where the runtime prints
    /// them before trapping) read; first match wins.
    pub deaths: &'static [DeathMark],
    /// How a recovered panic's message reads as a fault class.
    pub recovered: &'static [RecoveredMark],
    /// Exit codes of its native program and what they mean.
    pub exit_codes: ExitCodes,
    /// Builds (or finds cached) its artifacts from its sources, for a
    /// language faultbox does not embed; `None` for Rust and wat.
    pub build: Option<fn(&Path) -> Result<build::Artifacts, build::Unavailable>>,
}

/// What a native program's exit codes mean (`NativeLauncher::Exec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCodes {
    /// The runtime's own fatal exit (Go: 2).
    pub runtime_death: Option<i32>,
    /// The program refused its arguments: a faultbox bug, not a fault.
    pub usage: Option<i32>,
}

/// The table of languages, in report order.
pub static DESCRIPTORS: &[&Descriptor] = &[&rust::DESCRIPTOR, &go::DESCRIPTOR, &wat::DESCRIPTOR, &c::DESCRIPTOR, &prebuilt::DESCRIPTOR];

/// The descriptor of `language`.
pub fn descriptor(language: Language) -> &'static Descriptor {
    DESCRIPTORS.iter().copied().find(|d| d.language == language).expect("every language has a descriptor")
}

/// The artifacts of a built language (`Descriptor::build`), from `sources`.
/// Built once per process and (language, sources): every run of a
/// language asks for them, and even a cached build reads every source.
pub fn artifacts(d: &Descriptor, sources: &Path) -> Result<build::Artifacts, build::Unavailable> {
    type Built = Vec<((Language, PathBuf), Result<build::Artifacts, build::Unavailable>)>;
    static BUILT: std::sync::OnceLock<std::sync::Mutex<Built>> = std::sync::OnceLock::new();
    let Some(build) = d.build else {
        return Err(build::Unavailable::BuildFailed { problem: format!("{} has nothing to build", d.language) });
    };
    let key = (d.language, sources.to_path_buf());
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = built.iter().find(|(k, _)| *k == key) {
        return r.clone();
    }
    let r = build(sources);
    built.push((key, r.clone()));
    r
}

/// The first mark of `marks` on one of `stderr`'s lines, with that line.
pub fn death_mark<'a>(marks: &[DeathMark], stderr: &'a str) -> Option<(FaultClass, &'a str)> {
    // The runtime writes its death at column 0; a panic message's own
    // further lines come indented, so they cannot pass for it. The first
    // such line decides: what the runtime said first is the cause.
    stderr.lines().find_map(|l| marks.iter().find(|m| l.starts_with(m.line)).map(|m| (m.class, l.trim())))
}

/// The class of a recovered panic's message.
pub fn recovered_class(marks: &[RecoveredMark], message: &str) -> FaultClass {
    // "<type> <message>": the runtime's own error types only, so that a
    // plain panic with the same words stays a panic.
    let (kind, text) = message.split_once(' ').unwrap_or(("", message));
    marks
        .iter()
        .find(|m| kind.starts_with(m.kind) && text.contains(m.message))
        .map_or(FaultClass::Panic, |m| m.class)
}

/// The source tree's `guests/<language>` directory: beside the catalog's
/// directory (`scenarios/../guests`), else the tree faultbox was built from.
pub fn sources_dir(catalog_dir: &Path, d: &Descriptor) -> PathBuf {
    let beside = catalog_dir.parent().map(|p| p.join("guests").join(d.sources));
    if let Some(dir) = beside.filter(|p| p.is_dir()) {
        return dir;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"));
    built.parent().unwrap_or(built).join("guests").join(d.sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_one_descriptor() {
        for l in Language::ALL {
            assert_eq!(DESCRIPTORS.iter().filter(|d| d.language == l).count(), 1, "{l}");
        }
    }

    #[test]
    fn the_first_mark_in_table_order_decides() {
        let marks = [
            DeathMark { line: "fatal error: stack overflow", class: FaultClass::StackExhaustion },
            DeathMark { line: "fatal error:", class: FaultClass::Abort },
        ];
        let stderr = "runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow\n";
        assert_eq!(death_mark(&marks, stderr), Some((FaultClass::StackExhaustion, "fatal error: stack overflow")));
        // An indented line of a panic message is not the runtime speaking.
        assert_eq!(death_mark(&marks, "panic: bad record:\n\tfatal error: stack overflow\n"), None);
        assert_eq!(death_mark(&marks, "fatal error: fault"), Some((FaultClass::Abort, "fatal error: fault")));
        assert_eq!(death_mark(&marks, "all fine"), None);
    }
}
