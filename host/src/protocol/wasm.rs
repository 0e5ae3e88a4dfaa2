//! A scenario run in a wasm worker: the request, and what the worker saw.

use super::OutputTail;
use super::wire::{self, DecI64, DecU64, ModuleWire};
use crate::limits::{Deadline, Limits};
use crate::model::EngineConfig;
use crate::outcome::{Progress, Signal, TrapCode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which module a wasm run uses. On the wire a module is one of
/// `{"type": "path", "path": "/abs/file.wasm"}` (a binary module on disk,
/// by absolute path) or `{"type": "bytes", "base64": "..."}` (see
/// [`super::wire::ModuleWire`]): nothing only a faultbox binary could
/// resolve (its embedded guest, a `.wat` to parse) crosses it. The
/// supervisor turns those into a file or bytes before it sends a request.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ModuleSource {
    /// A module given inline (random modules, `.wat` scenarios as parsed).
    Bytes(Vec<u8>),
    /// A binary `.wasm` file on disk (the embedded Rust guest as the
    /// supervisor wrote it out, a cached Go build, a user's module).
    File(PathBuf),
}

impl std::fmt::Debug for ModuleSource {
    /// A module's bytes are not worth printing, their length is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleSource::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            ModuleSource::File(p) => write!(f, "File({:?})", p),
        }
    }
}

impl Serialize for ModuleSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ModuleSource::File(path) => ModuleWire::Path { path: path.clone() },
            ModuleSource::Bytes(bytes) => ModuleWire::Bytes { base64: wire::base64::encode(bytes) },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ModuleSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match ModuleWire::deserialize(d)? {
            ModuleWire::Path { path } if path.is_absolute() => Ok(ModuleSource::File(path)),
            ModuleWire::Path { path } => Err(D::Error::custom(format!("a module path must be absolute, not {}", path.display()))),
            ModuleWire::Bytes { base64 } => wire::base64::decode(&base64).map(ModuleSource::Bytes).map_err(D::Error::custom),
        }
    }
}

impl schemars::JsonSchema for ModuleSource {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        ModuleWire::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ModuleWire::json_schema(generator)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WasmRequest {
    pub model: EngineConfig,
    pub module: ModuleSource,
    /// Export to call: `(i64) -> i64`, or a WASI command's `_start`,
    /// `() -> ()`, whose return is an exit with code 0.
    pub export: String,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecI64")]
    pub arg: i64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "wire::LimitsWire")]
    pub limits: Limits,
    /// Check afterwards whether the same instance is still sound.
    pub check_reuse: bool,
    /// Link WASI preview 1 too (Go's wasip1 reactor): see `crate::wasm::wasi`.
    #[serde(default)]
    pub wasi: bool,
    /// With `check_reuse`, when the call did not return (a trap, an exit)
    /// and the health check after it returned HEALTH_OK: repeat (scenario, `fb_health`) up to this many
    /// more times on the same instance, stopping at the first round whose
    /// `fb_health` does not (`ReuseFacts::rounds_*`). Each call has its own
    /// CPU budget: a supervisor deadline must allow for 2 × rounds more.
    #[serde(default)]
    pub reuse_rounds: u32,
    /// With `wasi`: the module's WASI arguments, `argv[0]` first (empty:
    /// none at all). A WASI command (`export` = `_start`, called as
    /// `() -> ()`) reads its command line from these.
    #[serde(default)]
    pub args: Vec<String>,
    /// A signal the supervisor will send to this worker from outside: the
    /// worker writes one `ready` message when the guest first reports
    /// progress in the call, and the supervisor sends the signal then.
    /// `None`: no `ready` message.
    #[serde(default)]
    pub inject: Option<Signal>,
}

/// How a wasm call ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WasmEnding {
    Completed {
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecI64")]
        value: i64,
    },
    Trapped { trap: TrapCode, message: String, frames: Vec<String> },
    HostError { message: String },
    HostPanic { message: String },
    /// Instantiation or the call failed for a reason that is not a trap.
    Failed { message: String },
    /// The guest called WASI `proc_exit(code)` (wasmtime's `I32Exit`), in
    /// the call or in the reactor's `_initialize`: an exit the guest chose
    /// (Go's `os.Exit(3)`), or its runtime's last resort (Go's `exit(4)`
    /// when a dead instance is called again). Only WASI modules do this.
    Exited { code: i32 },
}

/// What the health check on the same instance found. On the wire:
/// `{"type": "returned", "value": "<i64>"}`, `{"type": "failed",
/// "message": ...}` or `{"type": "missing"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(into = "HealthWire", from = "HealthWire")]
#[schemars(with = "HealthWire")]
pub enum HealthCheck {
    /// `fb_health` returned this value.
    Returned(i64),
    /// `fb_health` did not return: how it ended.
    Failed(String),
    /// The module has no `fb_health` export.
    Missing,
}

/// [`HealthCheck`] on the wire.
#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "HealthCheck")]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HealthWire {
    /// `fb_health` returned `value`.
    Returned {
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecI64")]
        value: i64,
    },
    /// `fb_health` did not return: how it ended.
    Failed { message: String },
    /// The module has no `fb_health` export.
    Missing,
}

impl From<HealthCheck> for HealthWire {
    fn from(h: HealthCheck) -> HealthWire {
        match h {
            HealthCheck::Returned(value) => HealthWire::Returned { value },
            HealthCheck::Failed(message) => HealthWire::Failed { message },
            HealthCheck::Missing => HealthWire::Missing,
        }
    }
}

impl From<HealthWire> for HealthCheck {
    fn from(h: HealthWire) -> HealthCheck {
        match h {
            HealthWire::Returned { value } => HealthCheck::Returned(value),
            HealthWire::Failed { message } => HealthCheck::Failed(message),
            HealthWire::Missing => HealthCheck::Missing,
        }
    }
}

/// Facts about the instance after the call, before and after `fb_health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReuseFacts {
    pub health: HealthCheck,
    /// `__stack_pointer` before and after the call, if the module exports it.
    pub stack_pointer: Option<(u32, u32)>,
    /// Exported globals whose value changed: "name: before -> after".
    pub globals_changed: Vec<String>,
    /// Bytes of live linear memory that changed: everything but the dead
    /// part of the shadow stack (below the stack pointer at entry).
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub memory_changed_bytes: u64,
    /// Where: runs of changed addresses, inclusive.
    pub memory_changed_runs: Vec<(u32, u32)>,
    /// Bytes that changed below the stack pointer at entry: the call's own
    /// frames, and any stray write that landed there (a null write does).
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub dead_stack_changed_bytes: u64,
    pub dead_stack_changed_runs: Vec<(u32, u32)>,
    /// Memory size before and after, in bytes.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<(DecU64, DecU64)>")]
    pub memory_size: Option<(u64, u64)>,
    /// With `WasmRequest::reuse_rounds`: how many further rounds of
    /// (scenario, `fb_health`) on the same instance kept `fb_health`
    /// returning HEALTH_OK. `None`: no rounds ran (none asked for, or the
    /// first health check already failed).
    #[serde(default)]
    pub rounds_healthy: Option<u32>,
    /// How the first round whose `fb_health` did not return HEALTH_OK ended.
    #[serde(default)]
    pub rounds_broke: Option<String>,
    /// Why the rounds stopped before all of them ran without the instance
    /// breaking: a round's scenario call ran into its budget. Stopping a
    /// call from outside says nothing of what the fault did to the
    /// instance (an engine may even close it, as wazero and V8 do), so the
    /// rounds end there and `rounds_healthy` counts those before it.
    #[serde(default)]
    pub rounds_stopped: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WasmObservation {
    pub ending: WasmEnding,
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<wire::ProgressWire>")]
    pub progress: Option<Progress>,
    /// The message the guest's panic hook passed out before aborting.
    pub guest_panic: Option<String>,
    /// Memory or table growth the store limits refused.
    pub refused_growth: Vec<String>,
    /// The host operation in progress when the call ended, if any.
    pub host_call: Option<String>,
    /// The wasm fault address wasmtime attached, if any.
    pub fault_detail: Option<String>,
    pub reuse: Option<ReuseFacts>,
    /// The budget the watchdog enforced on the call (or the instantiation),
    /// if one ran out.
    pub deadline: Option<Deadline>,
    /// Instantiating the instance the scenario ran in, µs.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub instantiate_us: u64,
    /// The scenario call, µs.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub call_us: u64,
    /// CPU time of the worker thread during the call, µs.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub call_cpu_us: Option<u64>,
    /// The health check on the same instance, µs.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub health_us: Option<u64>,
    /// A fresh instance plus its health check, µs.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub fresh_context_us: Option<u64>,
    /// Guest output (through `fb.write`, and WASI stdout), when the call ended.
    pub output: OutputTail,
    /// WASI stderr (empty without WASI), as it was when the scenario call
    /// ended: `_initialize`'s and the call's, not the health check's.
    #[serde(default)]
    pub stderr: OutputTail,
}
