//! One random module run in a wasm worker (`faultbox fuzz`).

use super::wire::{self, DecU64};
use crate::outcome::TrapCode;
use serde::{Deserialize, Serialize};

/// Supervisor → wasm worker.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FuzzRequest {
    /// The module, as bytes (`{"type": "bytes", "base64": ...}`).
    #[serde(with = "wire::module_bytes")]
    #[schemars(with = "wire::BytesModuleWire")]
    pub module: Vec<u8>,
    /// Fuel for instantiation and for each call.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub fuel: u64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub memory_bytes: u64,
    /// Deadline for instantiation and for each call, ms.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub timeout_ms: u64,
    /// At most this many exported functions are called.
    pub max_calls: u32,
}

/// How one step ended. On the wire: `{"type": "completed"}`,
/// `{"type": "trapped", "trap": ...}` or `{"type": "error", "message": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(into = "FuzzEndingWire", from = "FuzzEndingWire")]
#[schemars(with = "FuzzEndingWire")]
pub enum FuzzEnding {
    Completed,
    Trapped(TrapCode),
    /// Not a trap: a failure faultbox cannot classify.
    Error(String),
}

/// [`FuzzEnding`] on the wire.
#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "FuzzEnding")]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FuzzEndingWire {
    Completed,
    Trapped { trap: TrapCode },
    /// Not a trap: a failure faultbox cannot classify.
    Error { message: String },
}

impl From<FuzzEnding> for FuzzEndingWire {
    fn from(e: FuzzEnding) -> FuzzEndingWire {
        match e {
            FuzzEnding::Completed => FuzzEndingWire::Completed,
            FuzzEnding::Trapped(trap) => FuzzEndingWire::Trapped { trap },
            FuzzEnding::Error(message) => FuzzEndingWire::Error { message },
        }
    }
}

impl From<FuzzEndingWire> for FuzzEnding {
    fn from(e: FuzzEndingWire) -> FuzzEnding {
        match e {
            FuzzEndingWire::Completed => FuzzEnding::Completed,
            FuzzEndingWire::Trapped { trap } => FuzzEnding::Trapped(trap),
            FuzzEndingWire::Error { message } => FuzzEnding::Error(message),
        }
    }
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FuzzReport {
    /// Set when the module did not compile: why.
    pub compile_error: Option<String>,
    pub instantiate: Option<FuzzEnding>,
    /// (export, ending) for each call; on the wire
    /// `[{"export": ..., "ending": ...}]`.
    #[serde(with = "calls")]
    #[schemars(with = "Vec<FuzzCall>")]
    pub calls: Vec<(String, FuzzEnding)>,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub wall_us: u64,
}

/// One call of a [`FuzzReport`], on the wire.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FuzzCall {
    pub export: String,
    pub ending: FuzzEnding,
}

mod calls {
    use super::{FuzzCall, FuzzEnding};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[(String, FuzzEnding)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|(export, ending)| FuzzCall { export: export.clone(), ending: ending.clone() }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, FuzzEnding)>, D::Error> {
        Ok(Vec::<FuzzCall>::deserialize(d)?.into_iter().map(|c| (c.export, c.ending)).collect())
    }
}
