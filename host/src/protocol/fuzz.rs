//! One random module run in a wasm worker (`faultbox fuzz`).

use crate::outcome::TrapCode;
use serde::{Deserialize, Serialize};

/// Supervisor → wasm worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FuzzRequest {
    pub module: Vec<u8>,
    /// Fuel for instantiation and for each call.
    pub fuel: u64,
    pub memory_bytes: u64,
    /// Deadline for instantiation and for each call, ms.
    pub timeout_ms: u64,
    /// At most this many exported functions are called.
    pub max_calls: u32,
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FuzzEnding {
    Completed,
    Trapped(TrapCode),
    /// Not a trap: a failure faultbox cannot classify.
    Error(String),
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FuzzReport {
    /// Set when the module did not compile: why.
    pub compile_error: Option<String>,
    pub instantiate: Option<FuzzEnding>,
    /// (export, ending) for each call.
    pub calls: Vec<(String, FuzzEnding)>,
    pub wall_us: u64,
}

