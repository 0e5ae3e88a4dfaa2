//! Trap-and-recover cycles in one wasm worker, watching its resident set
//! (`faultbox soak`).

use super::ModuleSource;
use super::wire::{self, Counted, DecI64, DecU64};
use crate::limits::Limits;
use crate::model::{ExecutionModel, EngineConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Supervisor → wasm worker.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SoakRequest {
    pub model: EngineConfig,
    pub module: ModuleSource,
    pub export: String,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecI64")]
    pub arg: i64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "wire::LimitsWire")]
    pub limits: Limits,
    /// Stop after this many cycles...
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub cycles: Option<u64>,
    /// ...or after this long.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "Option<DecU64>")]
    pub seconds: Option<u64>,
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SoakReport {
    pub model: ExecutionModel,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub cycles: u64,
    pub seconds: f64,
    /// Resident set before the first cycle, KiB.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub rss_start_kib: u64,
    /// After the warm-up (the first 1% of cycles, at most 10,000): the pool
    /// slots are resident by then.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub rss_warm_kib: u64,
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub rss_end_kib: u64,
    /// From the warm mark to the end, percent.
    pub growth_percent: f64,
    /// (cycle, RSS KiB) at every tenth of the run.
    #[serde(with = "wire::dec")]
    #[schemars(with = "Vec<(DecU64, DecU64)>")]
    pub rss_samples: Vec<(u64, u64)>,
    /// Fault classes the cycles observed: filled in by the supervisor
    /// (`commands::soak`) from `traps`.
    #[serde(default, with = "wire::dec")]
    #[schemars(with = "BTreeMap<String, DecU64>")]
    pub classes: BTreeMap<String, u64>,
    /// How the cycles' calls ended, with counts: the worker's facts, for
    /// `classify`; emptied once classified.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "wire::counts")]
    #[schemars(with = "Vec<Counted<super::CycleTrap>>")]
    pub traps: Vec<(super::CycleTrap, u64)>,
}

