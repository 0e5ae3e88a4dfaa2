//! Spec-style scenarios: the `assert_trap` and `assert_exhaustion`
//! directives of WebAssembly spec-test scripts (`.wast`), run in a wasm
//! worker and classified with faultbox's own taxonomy.
//!
//! - [`script`]: reading a script (supervisor side; bad input is caught here).
//! - [`exec`]: running it (worker side; the only part that knows wasmtime).
//! - [`expect`]: the spec's messages as trap codes, and the agreement report.

pub mod exec;
pub mod expect;
pub mod script;

use crate::outcome::TrapCode;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Supervisor → worker: run one script.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WastRequest {
    pub path: PathBuf,
    /// Per-directive deadline, ms.
    pub timeout_ms: u64,
}

/// What one trap directive did. Written as the report's `Ending` is: a
/// snake_case `kind` beside its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observed {
    /// Execution trapped with this code.
    Trapped { trap: TrapCode, message: String },
    /// It returned normally (the spec expected a trap).
    Returned,
    /// It failed in another way (a link error, a host error).
    Failed { message: String },
    /// It could not run: the reason (a module that needs a feature faultbox
    /// does not enable, or one that depends on such a module).
    Skipped { reason: String },
}

/// One `assert_trap` or `assert_exhaustion` directive and what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectiveResult {
    pub line: usize,
    /// `assert_trap` or `assert_exhaustion`.
    pub kind: String,
    /// The message the spec expects.
    pub expected: String,
    pub observed: Observed,
}

/// Worker → supervisor: every trap directive of one script, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WastObservation {
    pub directives: Vec<DirectiveResult>,
    /// Other directives executed for their effect (modules, invokes,
    /// assert_return...), not classified.
    pub other_directives: usize,
}
