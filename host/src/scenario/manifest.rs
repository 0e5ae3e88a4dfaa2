//! The manifest format: one TOML file per scenario in `scenarios/`.
//!
//! ```toml
//! summary = "Write through a null pointer"
//! category = "memory"
//! injects = "memory_fault"          # the fault the guest commits
//! description = "..."               # what the guest code does
//!
//! [guest]
//! entry = "null_write"              # guests::ENTRIES name; wasm export fb_null_write
//! arg = 0                           # optional argument
//! # wat = "../guests/wat/x.wat"     # a wasm-only guest, relative to this file
//!
//! [limits]                          # optional; see `Limits`
//! timeout_ms = 500
//!
//! [expect.wasm]                     # also used by wasm-explicit and wasm-pulley
//! verdict = "undetected"            #   unless they have their own table
//! fault = "none"
//! why = "linear memory has an address 0"
//!
//! [expect.native]
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
    pub guest: GuestSpec,
    #[serde(default)]
    pub limits: Limits,
    /// None at all: a new scenario, run before its expectations are written.
    #[serde(default)]
    pub expect: BTreeMap<String, Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GuestSpec {
    pub entry: String,
    #[serde(default)]
    pub arg: i64,
    pub wat: Option<PathBuf>,
}

/// The six scenario categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Stack,
    Memory,
    Arithmetic,
    Control,
    Resource,
    HostBoundary,
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
