//! A spec script in an engine adapter: the directive walk and every value
//! check stay faultbox's (`worker::wast::run_in`, as for the embedded
//! engines); each step the walk needs of the engine is one `spec_*`
//! request to the adapter (`protocol::spec`). What the registry says the
//! engine lacks is decided here, before the module is sent.

use crate::model::EngineConfig;
use crate::protocol::{Handle, Message, ModuleSource, Observed, Request, SpecResult, SpecValue, WastObservation, WastRequest};
use crate::wasm::WasmProfile;
use crate::worker::client::Worker;
use crate::worker::wast::script::Beyond;
use crate::worker::wast::values::{AnyRef, Hierarchy, Value};
use crate::worker::wast::{Failure, Missing, SpecEngine, Verdict, run_in};
use std::time::Duration;

/// Runs one script through `worker`, an adapter of `model`. A worker lost
/// on the way fails every directive after it, with how it was lost.
pub fn run(worker: &mut Worker, model: EngineConfig, req: &WastRequest) -> anyhow::Result<WastObservation> {
    let mut fatal = None;
    let mut remote = Remote { worker, model, timeout_ms: req.timeout_ms, lost: None, fatal: &mut fatal };
    match remote.step(Request::SpecBegin { timeout_ms: req.timeout_ms }) {
        SpecResult::Accepted => {}
        other => anyhow::bail!("the {model} adapter did not begin a spec script: {other:?}"),
    }
    let obs = run_in(remote, req)?;
    match fatal {
        Some(why) => anyhow::bail!("{why}"),
        None => Ok(obs),
    }
}

/// Whether the worker is still usable after a script.
pub fn worker_alive(obs: &WastObservation) -> bool {
    !obs.directives.iter().any(|d| matches!(&d.observed, Observed::Failed { message } if message.starts_with(LOST)))
}

const LOST: &str = "the adapter was lost";

struct Remote<'w> {
    worker: &'w mut Worker,
    model: EngineConfig,
    timeout_ms: u64,
    lost: Option<String>,
    /// Set when the script must stop as faultbox's failure, not the guest's:
    /// the caller's, read once the walk has consumed the engine.
    fatal: &'w mut Option<String>,
}

impl Remote<'_> {
    fn step(&mut self, step: Request) -> SpecResult {
        if let Some(lost) = &self.lost {
            return SpecResult::Failed { message: lost.clone() };
        }
        // The adapter enforces the CPU budget and its own wall backstop;
        // this waits past both, for one that stops answering (a start
        // function may be called and then a fresh thread prepared).
        let deadline = crate::limits::wall_backstop(Duration::from_millis(self.timeout_ms)) * 2 + Duration::from_secs(30);
        match self.worker.call(&step, deadline) {
            Ok(Message::Spec { result }) => result,
            Ok(Message::Failed { message }) => SpecResult::Failed { message: format!("the adapter could not do it: {message}") },
            Ok(other) => SpecResult::Failed { message: format!("the adapter answered with {other:?}") },
            // A broken protocol or an interrupt is no directive's outcome:
            // the script stops, and the run with it.
            Err(lost) if lost.broke_protocol.is_some() || crate::worker::client::stopping() => {
                let why = lost.broke_protocol.clone().unwrap_or_else(|| "faultbox is stopping".into());
                *self.fatal = Some(format!("the {} adapter broke the worker protocol or was stopped: {why}", self.model));
                self.lost = self.fatal.clone();
                SpecResult::Failed { message: why }
            }
            Err(lost) => {
                let message = format!("{LOST}: {}", lost.summary());
                self.lost = Some(message.clone());
                SpecResult::Failed { message }
            }
        }
    }

    fn unexpected(&self, what: &str, r: SpecResult) -> String {
        format!("the {} adapter answered {what} with {r:?}", self.model)
    }
}

/// A compiled module in the adapter, and the modules it imports from.
#[derive(Clone)]
pub struct RemoteModule {
    id: Handle,
    imports: Vec<String>,
}

impl SpecEngine for Remote<'_> {
    type Module = RemoteModule;
    type Instance = Handle;

    fn beyond(&self, what: Beyond) -> &'static str {
        match what {
            Beyond::Threads => "faultbox does not run spec threads through an engine adapter",
            Beyond::StackSwitching => "no engine adapter implements stack switching",
            Beyond::Component => "engine adapters run core modules only, not components",
            Beyond::CustomSection => "engine adapters do not interpret the contents of custom sections",
        }
    }

    fn compile(&mut self, bytes: &[u8]) -> Result<RemoteModule, Missing> {
        if let Some(gap) = crate::wasm::engine_gap(self.model, WasmProfile::current(), bytes) {
            return Err(Missing::Unavailable(gap));
        }
        let id = match self.step(Request::SpecCompile { module: ModuleSource::Bytes(bytes.to_vec()) }) {
            SpecResult::Module { id } => id,
            SpecResult::Rejected { message } | SpecResult::Failed { message } => return Err(Missing::Broken(message)),
            SpecResult::Unavailable { reason } => return Err(Missing::Unavailable(reason)),
            other => return Err(Missing::Broken(self.unexpected("spec_compile", other))),
        };
        match self.step(Request::SpecImports { module: id }) {
            SpecResult::Imports { modules } => Ok(RemoteModule { id, imports: modules }),
            other => Err(Missing::Broken(self.unexpected("spec_imports", other))),
        }
    }

    fn judge(&mut self, bytes: &[u8]) -> Verdict {
        // Invalid only because it uses what the engine lacks: the engine's
        // verdict would say nothing of the module.
        let profile = WasmProfile::current();
        let all = crate::wasm::engine_features(EngineConfig::Cranelift, profile);
        let valid_in_profile = wasmparser::Validator::new_with_features(all).validate_all(bytes).is_ok();
        if valid_in_profile && let Some(gap) = crate::wasm::engine_gap(self.model, profile, bytes) {
            return Verdict::Skipped(gap);
        }
        match self.step(Request::SpecJudge { module: ModuleSource::Bytes(bytes.to_vec()) }) {
            SpecResult::Accepted => Verdict::Accepted,
            SpecResult::Rejected { message } => Verdict::Rejected(message),
            SpecResult::Unavailable { reason } => Verdict::Skipped(reason),
            other => Verdict::Skipped(self.unexpected("spec_judge", other)),
        }
    }

    fn instantiate(&mut self, module: &RemoteModule) -> Result<Handle, Failure> {
        match self.step(Request::SpecInstantiate { module: module.id }) {
            SpecResult::Instance { id } => Ok(id),
            SpecResult::Trapped { trap, message } => Err(Failure { trap: Some(trap), message }),
            SpecResult::Failed { message } | SpecResult::Rejected { message } => Err(Failure { trap: None, message }),
            other => Err(Failure { trap: None, message: self.unexpected("spec_instantiate", other) }),
        }
    }

    fn import_modules(&self, module: &RemoteModule) -> Vec<String> {
        module.imports.clone()
    }

    fn register(&mut self, name: &str, instance: &Handle) -> Result<(), String> {
        match self.step(Request::SpecRegister { name: name.to_string(), instance: *instance }) {
            SpecResult::Accepted => Ok(()),
            SpecResult::Failed { message } => Err(message),
            other => Err(self.unexpected("spec_register", other)),
        }
    }

    fn call(&mut self, instance: &Handle, name: &str, args: &[Value]) -> Result<Vec<Value>, Observed> {
        let args = args.iter().map(to_wire).collect::<Result<Vec<_>, _>>().map_err(|reason| Observed::Skipped { reason })?;
        let result = self.step(Request::SpecCall { instance: *instance, name: name.to_string(), args });
        self.values(result, "spec_call")
    }

    fn global(&mut self, instance: &Handle, name: &str) -> Result<Value, Observed> {
        let result = self.step(Request::SpecGlobal { instance: *instance, name: name.to_string() });
        let mut values = self.values(result, "spec_global")?;
        match (values.pop(), values.is_empty()) {
            (Some(v), true) => Ok(v),
            _ => Err(Observed::Failed { message: format!("the {} adapter gave a global that is not one value", self.model) }),
        }
    }
}

impl Remote<'_> {
    fn values(&self, result: SpecResult, what: &str) -> Result<Vec<Value>, Observed> {
        match result {
            SpecResult::Values { values } => values.iter().map(from_wire).collect::<Result<Vec<_>, _>>().map_err(|message| Observed::Failed { message }),
            SpecResult::Trapped { trap, message } => Err(Observed::Trapped { trap, message }),
            SpecResult::Failed { message } => Err(Observed::Failed { message }),
            SpecResult::Unavailable { reason } => Err(Observed::Skipped { reason }),
            other => Err(Observed::Failed { message: self.unexpected(what, other) }),
        }
    }
}

fn to_wire(v: &Value) -> Result<SpecValue, String> {
    Ok(match v {
        Value::I32(value) => SpecValue::I32 { value: *value },
        Value::I64(value) => SpecValue::I64 { value: *value },
        Value::F32(bits) => SpecValue::F32 { bits: *bits },
        Value::F64(bits) => SpecValue::F64 { bits: *bits },
        Value::V128(x) => SpecValue::V128 { hex: format!("{x:032x}") },
        Value::Null(h) => SpecValue::RefNull { heap: hierarchy_name(*h).to_string() },
        Value::Extern(n) => SpecValue::Externref { value: *n },
        Value::Func => SpecValue::Funcref,
        Value::Any(AnyRef::Host(_)) | Value::Any(_) | Value::Exn | Value::Cont => {
            return Err(format!("an argument of {v:?}: engine adapters pass numbers, func and extern references only"));
        }
    })
}

fn hierarchy_name(h: Hierarchy) -> &'static str {
    match h {
        Hierarchy::Func => "func",
        Hierarchy::Extern => "extern",
        Hierarchy::Any => "any",
        Hierarchy::Exn => "exn",
        Hierarchy::Cont => "cont",
    }
}

fn from_wire(v: &SpecValue) -> Result<Value, String> {
    Ok(match v {
        SpecValue::I32 { value } => Value::I32(*value),
        SpecValue::I64 { value } => Value::I64(*value),
        SpecValue::F32 { bits } => Value::F32(*bits),
        SpecValue::F64 { bits } => Value::F64(*bits),
        SpecValue::V128 { hex } => Value::V128(u128::from_str_radix(hex, 16).map_err(|e| format!("v128 `{hex}`: {e}"))?),
        SpecValue::RefNull { heap } => Value::Null(match heap.as_str() {
            "func" => Hierarchy::Func,
            "extern" => Hierarchy::Extern,
            "any" => Hierarchy::Any,
            "exn" => Hierarchy::Exn,
            "cont" => Hierarchy::Cont,
            other => return Err(format!("a null reference of an unknown hierarchy `{other}`")),
        }),
        SpecValue::Funcref => Value::Func,
        SpecValue::Externref { value } => Value::Extern(*value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value survives the wire both ways, NaN payloads included, and
    /// a step is written with its own `type`.
    #[test]
    fn values_and_steps_round_trip() {
        let values = [
            Value::I32(-5),
            Value::I64(i64::MIN),
            Value::F32(0x7fa0_0001),
            Value::F64(0xfff8_0000_0000_0001),
            Value::V128(0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100),
            Value::Null(Hierarchy::Extern),
            Value::Func,
            Value::Extern(Some(7)),
            Value::Extern(None),
        ];
        for v in values {
            let wire = to_wire(&v).unwrap();
            let text = serde_json::to_string(&wire).unwrap();
            let back: SpecValue = serde_json::from_str(&text).unwrap();
            assert_eq!(from_wire(&back).unwrap(), v, "{text}");
        }
        let text = serde_json::to_string(&Request::SpecBegin { timeout_ms: 1000 }).unwrap();
        assert_eq!(text, r#"{"type":"spec_begin","timeout_ms":"1000"}"#);
        let back: Request = serde_json::from_str(r#"{"type":"spec_call","instance":3,"name":"f","args":[{"type":"i64","value":"-1"}]}"#).unwrap();
        assert_eq!(back.type_name(), "spec_call");
        let reply: Message = serde_json::from_str(r#"{"type":"spec","result":{"type":"trapped","trap":"unreachable_code_reached","message":"unreachable"}}"#).unwrap();
        assert!(matches!(reply, Message::Spec { result: SpecResult::Trapped { .. } }));
        assert!(to_wire(&Value::Any(AnyRef::I31(1))).is_err());
    }
}
