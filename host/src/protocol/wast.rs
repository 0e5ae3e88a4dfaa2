//! A spec-test script (`.wast`) run in a wasm worker: the request, and
//! what each directive did.

use super::wire::{self, DecU64};
use crate::outcome::TrapCode;
use serde::{Deserialize, Serialize};

/// What a worker reports for an uncaught exception, as the message of a
/// trap (`assert_exception` names no message of its own).
pub const UNCAUGHT: &str = "uncaught exception";
use std::path::PathBuf;

/// Supervisor → worker: run one script.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WastRequest {
    pub path: PathBuf,
    /// Per-directive deadline, ms.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub timeout_ms: u64,
    /// The script as the supervisor read and checked it: the worker runs
    /// this, not whatever the path holds by now. `None`: read `path`.
    #[serde(default)]
    pub text: Option<String>,
}

/// What one trap directive did: a snake_case `type` beside its fields, as
/// every enum on the wire (`faultbox wast --format json` writes it as
/// `kind`, as it always has: `classify::wast`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Observed {
    /// Execution trapped with this code.
    Trapped { trap: TrapCode, message: String },
    /// It returned normally (the spec expected a trap).
    Returned,
    /// A call returned these values (`assert_return`, `invoke`); the
    /// mismatch with what the script expects, if any.
    Values { values: Vec<String>, mismatch: Option<String> },
    /// The module compiled, and for a module that is instantiated, linked
    /// and instantiated.
    Accepted,
    /// The module was rejected: at which stage (text, decode or validate,
    /// link or instantiate) and the engine's message.
    Rejected { stage: String, message: String },
    /// It failed in another way (a link error, a host error).
    Failed { message: String },
    /// It could not run: the reason (a module that needs a feature faultbox
    /// does not enable, or one that depends on such a module).
    Skipped { reason: String },
}

/// One directive and what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectiveResult {
    /// The script's line (32 bits: a JSON number).
    pub line: u32,
    /// The directive's name as scripts write it (`assert_trap`, `module`...).
    pub kind: String,
    /// What the script expects: the trap message, the values, or what
    /// becomes of the module.
    pub expected: String,
    pub observed: Observed,
}

/// Worker → supervisor: every directive of one script, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WastObservation {
    pub directives: Vec<DirectiveResult>,
}
