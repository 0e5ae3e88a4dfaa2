//! The manifest format: one TOML file per scenario in `scenarios/`.
//!
//! ```toml
//! summary = "Write through a null pointer"
//! category = "memory"
//! injects = "memory_fault"          # the fault the guest commits
//! description = "..."               # what the guest code does
//!
//! [guest.rust]                     # one table per language with an entry
//! entry = "null_write"              # guests::ENTRIES name; wasm export fb_null_write
//! arg = 0                           # optional argument
//!
//! [guest.go]                        # guests/go: export fb_null_write, `guest null_write <arg>`
//! entry = "null_write"
//! about = "..."                     # optional: what this language's entry does
//!
//! # [guest.wat]                     # a hand-written module, wasm models only
//! # entry = "x"
//! # path = "wat/x.wat"              # relative to this file
//!
//! # [guest.prebuilt]                # bring your own: built outside faultbox
//! # module = "byo/x.wasm"           # relative to this file; optional
//! # export = "fb_x"                 # default `_start` (a WASI command)
//! # arg = 0                         # the export's argument
//! # program = "byo/x"               # a native executable; optional
//! # args = ["--crash"]              # the program's and the command's arguments
//!
//! [limits]                          # optional; see `Limits`
//! timeout_ms = 500
//!
//! # [inject]                        # optional: a signal sent from outside
//! # signal = "SIGTERM"              #   once the guest first reports progress
//!
//! [expect.rust.wasm]                # also used by wasm-explicit and wasm-pulley
//! verdict = "undetected"            #   unless they have their own table
//! fault = "none"
//! why = "linear memory has an address 0"
//!
//! [expect.rust.native]
//! verdict = "crashed"
//! fault = "memory_fault"
//! signal = "SIGSEGV"                # optional: trap = "...", signal = "...", reuse = "..."
//! why = "the zero page is unmapped: SIGSEGV"
//! ```

use crate::limits::Limits;
use crate::outcome::{FaultClass, Reuse, Signal, TrapCode, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManifestFile {
    pub summary: String,
    pub category: Category,
    pub injects: FaultClass,
    #[serde(default)]
    pub description: String,
    /// One entry per language, by language name.
    pub guest: BTreeMap<String, GuestSpec>,
    #[serde(default)]
    pub limits: Limits,
    /// A signal to send from outside once the guest reports ready.
    pub inject: Option<InjectSpec>,
    /// By language, then by execution model. None at all for a language:
    /// its entry is new, run before its expectations are written.
    #[serde(default)]
    pub expect: BTreeMap<String, BTreeMap<String, Expectation>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GuestSpec {
    /// Required for every language but `prebuilt`, which names an export.
    #[serde(default)]
    pub entry: String,
    #[serde(default)]
    pub arg: i64,
    /// `[guest.wat]` only: the .wat file, relative to the manifest.
    pub path: Option<PathBuf>,
    /// What this language's entry does, where the description (written for
    /// every language) does not say it.
    pub about: Option<String>,
    /// `[guest.prebuilt]` only: a `.wasm` file, relative to the manifest.
    pub module: Option<PathBuf>,
    /// `[guest.prebuilt]` only: the module's export to call, `(i64) -> i64`
    /// (e.g. `fb_null_write`); default `_start`, a WASI command.
    pub export: Option<String>,
    /// `[guest.prebuilt]` only: a native executable, relative to the
    /// manifest, exec'd per run.
    pub program: Option<PathBuf>,
    /// `[guest.prebuilt]` only: the program's arguments, and the module's
    /// WASI arguments (after `argv[0]`, the file's name).
    #[serde(default)]
    pub args: Vec<String>,
}

/// `[inject]`: what faultbox does to the guest from outside while it runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InjectSpec {
    /// Sent with `kill(2)` to the process running the guest (natively the
    /// guest's own; in wasm the worker's) once the guest has reported
    /// progress for the first time.
    pub signal: Signal,
}

/// The scenario categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Stack,
    Memory,
    Arithmetic,
    Control,
    Resource,
    HostBoundary,
    /// A signal sent from outside by another process (`[inject]`).
    Signal,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Stack => "stack",
            Category::Memory => "memory",
            Category::Arithmetic => "arithmetic",
            Category::Control => "control",
            Category::Resource => "resource",
            Category::HostBoundary => "host_boundary",
            Category::Signal => "signal",
        }
    }
}

/// What a manifest expects of one execution model. `verdict` and `why` are
/// required; the other fields are checked only when present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub verdict: Verdict,
    /// Required unless the verdict is `n/a`.
    pub fault: Option<FaultClass>,
    pub trap: Option<TrapCode>,
    pub signal: Option<Signal>,
    pub reuse: Option<Reuse>,
    /// The mechanism that produces this outcome, in a sentence.
    pub why: String,
    /// Stands in for a manifest without any `[expect.*]`: every outcome
    /// differs from it, and `--check` refuses it.
    #[serde(skip)]
    pub unwritten: bool,
}

impl Expectation {
    pub fn unwritten() -> Expectation {
        Expectation {
            verdict: Verdict::NotApplicable,
            fault: None,
            trap: None,
            signal: None,
            reuse: None,
            why: "not written yet: the manifest has no [expect.*]".into(),
            unwritten: true,
        }
    }
}
