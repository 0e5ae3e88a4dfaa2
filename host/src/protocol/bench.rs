//! Fault-to-usable-again cycles measured inside a worker (`faultbox bench`).

use super::wire::{self, Counted, DecI64, DecU64};
use super::{ChildStatus, ModuleSource, NativeRequest};
use crate::limits::Limits;
use crate::model::EngineConfig;
use crate::outcome::TrapCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One wasm configuration to cycle.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WasmConfig {
    pub model: EngineConfig,
    pub backtraces: bool,
}

/// Supervisor → worker: run cycles and send back the samples. The
/// configurations of one request run interleaved, cycle by cycle, so that
/// a noisy machine slows them all alike and their ratios hold.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BenchRequest {
    /// Wasm: fresh pooled instance, faulting call, trap classified, per
    /// configuration.
    WasmCycles {
        configs: Vec<WasmConfig>,
        module: ModuleSource,
        export: String,
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecI64")]
        arg: i64,
        #[serde(with = "wire::dec")]
        #[schemars(with = "wire::LimitsWire")]
        limits: Limits,
        iterations: u32,
    },
    /// Wasm: Cranelift/Pulley compile time of the module, and its load
    /// time from the module cache.
    WasmCompile {
        model: EngineConfig,
        module: ModuleSource,
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecU64")]
        wasm_stack_kib: u64,
    },
    /// Native: through the fork server (fork, fault, reap, classify),
    /// through fork+exec of a fresh worker per run, and the platform's
    /// floor (the fork server forks a child that faults at once and reaps
    /// it), interleaved.
    NativeCycles { request: NativeRequest, exe: std::path::PathBuf, iterations: u32 },
    /// The platform's own trap round trips (ud2 → SIGILL, unmapped load →
    /// SIGSEGV), measured in the fork server.
    TrapFloor { iterations: u32 },
}

/// Worker → supervisor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BenchSamples {
    /// Whole cycles, ns.
    #[serde(with = "wire::dec")]
    #[schemars(with = "Vec<DecU64>")]
    pub cycles_ns: Vec<u64>,
    /// Named parts of a cycle, ns per cycle.
    #[serde(with = "wire::dec")]
    #[schemars(with = "BTreeMap<String, Vec<DecU64>>")]
    pub parts_ns: BTreeMap<String, Vec<u64>>,
    /// How wasm cycles' calls ended, with counts.
    #[serde(default, with = "wire::counts")]
    #[schemars(with = "Vec<Counted<CycleTrap>>")]
    pub traps: Vec<(CycleTrap, u64)>,
    /// How native cycles' children ended, with counts.
    #[serde(default, with = "wire::counts")]
    #[schemars(with = "Vec<Counted<CycleEnding>>")]
    pub endings: Vec<(CycleEnding, u64)>,
}

impl BenchSamples {
    /// One wasm cycle, and how its call ended: `classify` decides the
    /// class on the supervisor's side.
    pub fn record(&mut self, total: u64, ending: CycleTrap) {
        self.cycles_ns.push(total);
        match self.traps.iter_mut().find(|(e, _)| *e == ending) {
            Some((_, n)) => *n += 1,
            None => self.traps.push((ending, 1)),
        }
    }

    /// One native cycle, and how its child ended: `classify` decides the
    /// class on the supervisor's side.
    pub fn record_ending(&mut self, total: u64, ending: CycleEnding) {
        self.cycles_ns.push(total);
        match self.endings.iter_mut().find(|(e, _)| *e == ending) {
            Some((_, n)) => *n += 1,
            None => self.endings.push((ending, 1)),
        }
    }

    /// One cycle's part `name`, ns.
    pub fn part(&mut self, name: &str, ns: u64) {
        self.parts_ns.entry(name.to_string()).or_default().push(ns);
    }
}

/// How a wasm cycle's call ended, as far as the worker saw it: the facts
/// `classify::cycle_trap` turns into a fault class (the same rules as a
/// compare's wasm run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CycleTrap {
    /// `None`: the call returned. `Some(None)`: it failed with an error
    /// that is not a trap. On the wire a [`CallEnd`].
    #[serde(with = "call_end")]
    #[schemars(with = "CallEnd")]
    pub trap: Option<Option<TrapCode>>,
    /// The guest's panic hook reported a panic before the trap.
    pub guest_panic: bool,
    /// The store refused memory or table growth.
    pub refused_growth: bool,
}

/// How a cycle's call ended, on the wire ([`CycleTrap::trap`]: JSON has
/// no way to tell `None` from `Some(None)`).
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CallEnd {
    /// The call returned.
    Returned,
    /// It trapped with `trap`.
    Trapped { trap: TrapCode },
    /// It failed with an error that is not a trap.
    Failed,
}

mod call_end {
    use super::{CallEnd, TrapCode};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<TrapCode>>, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            None => CallEnd::Returned,
            Some(Some(trap)) => CallEnd::Trapped { trap },
            Some(None) => CallEnd::Failed,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<TrapCode>>, D::Error> {
        Ok(match CallEnd::deserialize(d)? {
            CallEnd::Returned => None,
            CallEnd::Trapped { trap } => Some(Some(trap)),
            CallEnd::Failed => Some(None),
        })
    }
}

/// How a native cycle's child ended, as far as the fork server saw it: the
/// facts `classify::cycle_ending` turns into a fault class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CycleEnding {
    pub status: ChildStatus,
    /// The child's panic hook saw a panic (the report region says so; a
    /// fork+exec cycle has no region and never sets it).
    pub panicked: bool,
}
