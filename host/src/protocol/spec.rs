//! A spec script walked step by step in an engine adapter (the
//! `spec_*` requests of [`super::Request`]): the supervisor
//! reads the script and checks every value (`worker::wast`, the same walk
//! as for faultbox's own engines); the adapter only compiles, links, calls
//! and reads globals, one request each. A script is one store: `spec_begin`
//! starts a new one, with the `spectest` module in it.

use super::wire::{self, DecI64, DecU64};
use crate::outcome::TrapCode;
use serde::{Deserialize, Serialize};

/// A module or an instance in the adapter's store, by the number the
/// adapter gave it (32 bits: a JSON number).
pub type Handle = u32;

/// Adapter → supervisor: how a step went (`{"type": "spec", "result": ...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SpecResult {
    /// Done (`spec_begin`, `spec_register`), or a module judged valid.
    Accepted,
    /// A compiled module's handle.
    Module { id: Handle },
    /// An instance's handle.
    Instance { id: Handle },
    /// The engine rejected the module (decode or validation), in its words.
    Rejected { message: String },
    /// The engine cannot do this: it lacks the feature named.
    Unavailable { reason: String },
    /// The modules a module imports from.
    Imports { modules: Vec<String> },
    /// What a call returned, or a global's value.
    Values { values: Vec<SpecValue> },
    /// Execution trapped (call-stack exhaustion is `stack_overflow`).
    Trapped { trap: TrapCode, message: String },
    /// It failed otherwise (a link error, a host error).
    Failed { message: String },
}

/// A value crossing the wire in a spec step: numbers as bits, so that a
/// NaN's payload survives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SpecValue {
    I32 {
        value: i32,
    },
    I64 {
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecI64")]
        value: i64,
    },
    /// The bit pattern.
    F32 {
        bits: u32,
    },
    /// The bit pattern.
    F64 {
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecU64")]
        bits: u64,
    },
    /// The 128-bit value in 32 hex digits, most significant first (lane 0
    /// is the low end).
    V128 {
        hex: String,
    },
    /// A null reference of the hierarchy named by its top type (`func`,
    /// `extern`, `any`, `exn`).
    RefNull {
        heap: String,
    },
    /// A non-null function reference.
    Funcref,
    /// A host reference: the number the script made it with, if it did.
    Externref {
        value: Option<u32>,
    },
}
