//! The WebAssembly feature profile (2.0 or 3.0) every engine of one
//! faultbox run accepts, and what it enables per engine configuration.

use crate::model::{EngineConfig, ExecutionModel};
use crate::registry::Proposal;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Which version of the WebAssembly standard the engines accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WasmProfile {
    /// Wasm 2.0 core: MVP, bulk memory, reference types, multi-value, sign
    /// extension, saturating conversions, SIMD.
    #[serde(rename = "2.0")]
    Wasm2,
    /// Wasm 2.0 plus every Wasm 3.0 proposal wasmtime implements for the
    /// engine configuration (see [`PROPOSALS`]).
    #[serde(rename = "3.0")]
    Wasm3,
}

/// The environment variable that carries the profile from the supervisor to
/// its workers: every engine of one faultbox run uses the same profile.
pub const PROFILE_ENV: &str = "FAULTBOX_WASM_FEATURES";

static SELECTED: OnceLock<WasmProfile> = OnceLock::new();

impl WasmProfile {
    pub const ALL: [WasmProfile; 2] = [WasmProfile::Wasm2, WasmProfile::Wasm3];

    pub fn name(self) -> &'static str {
        match self {
            WasmProfile::Wasm2 => "2.0",
            WasmProfile::Wasm3 => "3.0",
        }
    }

    pub fn from_name(name: &str) -> Option<WasmProfile> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Chooses the profile of this process (the CLI's `--wasm-features`).
    /// Only the first choice counts; it must come before any engine is built.
    pub fn select(profile: WasmProfile) {
        let _ = SELECTED.set(profile);
    }

    /// The profile of this process: the one selected, else the one in
    /// [`PROFILE_ENV`] (a worker inherits its supervisor's), else 3.0.
    pub fn current() -> WasmProfile {
        *SELECTED.get_or_init(|| {
            std::env::var(PROFILE_ENV).ok().and_then(|v| WasmProfile::from_name(&v)).unwrap_or(WasmProfile::Wasm3)
        })
    }
}

/// One line per proposal and engine configuration: what the profile
/// enables. Shown by `faultbox wast` and in reports.
pub fn profile_table(profile: WasmProfile, models: &[ExecutionModel]) -> Vec<String> {
    let mut lines = Vec::new();
    for (m, engine) in models.iter().filter_map(|m| Some((m, m.wasm_engine()?))) {
        let mut on = Vec::new();
        let mut off = Vec::new();
        for p in Proposal::ALL {
            match (profile, engine.capabilities().lacks(p)) {
                (WasmProfile::Wasm2, _) => off.push(format!("{} (not in Wasm 2.0)", p.name())),
                (WasmProfile::Wasm3, None) => on.push(p.name().to_string()),
                (WasmProfile::Wasm3, Some(why)) => off.push(format!("{} ({why})", p.name())),
            }
        }
        let mut line = format!("{m}: Wasm {} profile", profile.name());
        if !on.is_empty() {
            line.push_str(&format!("; enabled: {}", on.join(", ")));
        }
        if !off.is_empty() {
            line.push_str(&format!("; not enabled: {}", off.join(", ")));
        }
        lines.push(line);
    }
    lines
}

/// wasmparser's (and so wasmtime's) feature flag for each proposal.
pub fn proposal_features(p: Proposal) -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    match p {
        Proposal::TailCalls => F::TAIL_CALL,
        Proposal::ExtendedConst => F::EXTENDED_CONST,
        Proposal::FunctionReferences => F::FUNCTION_REFERENCES,
        // Not GC_TYPES: wasmparser's switch for any GC-managed reference
        // type, which Wasm 2.0's externref needs too.
        Proposal::Gc => F::GC,
        Proposal::MultiMemory => F::MULTI_MEMORY,
        Proposal::Memory64 => F::MEMORY64,
        Proposal::RelaxedSimd => F::RELAXED_SIMD,
        Proposal::Exceptions => F::EXCEPTIONS,
    }
}

/// What `engine` accepts under `profile`, as wasmparser features: Wasm
/// 2.0, plus (3.0) every proposal the registry says it implements.
pub fn engine_features(engine: EngineConfig, profile: WasmProfile) -> wasmparser::WasmFeatures {
    let mut features = wasmparser::WasmFeatures::WASM2;
    if profile == WasmProfile::Wasm3 {
        for p in Proposal::ALL.into_iter().filter(|p| engine.capabilities().lacks(*p).is_none()) {
            features |= proposal_features(p);
        }
    }
    features
}

/// Why `engine` cannot take `bytes` under `profile`, naming the proposal
/// it needs that the profile or the engine leaves out, if it cannot.
pub fn engine_gap(engine: EngineConfig, profile: WasmProfile, bytes: &[u8]) -> Option<String> {
    let features = engine_features(engine, profile);
    let err = wasmparser::Validator::new_with_features(features).validate_all(bytes).err()?;
    // The first proposal whose switch alone makes it validate is the one
    // it needs; a module that needs several is named by its first.
    for p in Proposal::ALL {
        let with = features | proposal_features(p);
        if with != features && wasmparser::Validator::new_with_features(with).validate_all(bytes).is_ok() {
            return Some(match (profile, engine.capabilities().lacks(p)) {
                (_, Some(why)) => format!("the module needs {}: {why}", p.name()),
                (WasmProfile::Wasm2, None) => format!("the module needs {}, outside the Wasm 2.0 profile (--wasm-features 2.0)", p.name()),
                (WasmProfile::Wasm3, None) => format!("the module needs {}", p.name()),
            });
        }
    }
    // Several at once: each left-out proposal without which it fails,
    // with all the others switched on.
    let valid = |f: wasmparser::WasmFeatures| wasmparser::Validator::new_with_features(f).validate_all(bytes).is_ok();
    let left_out: Vec<Proposal> = Proposal::ALL.into_iter().filter(|p| !features.contains(proposal_features(*p))).collect();
    let all = left_out.iter().fold(features, |f, p| f | proposal_features(*p));
    if valid(all) {
        let needed: Vec<Proposal> = left_out.into_iter().filter(|p| !valid(all.difference(proposal_features(*p)))).collect();
        if !needed.is_empty() {
            let names: Vec<&str> = needed.iter().map(|p| p.name()).collect();
            let why: Vec<String> = needed
                .iter()
                .map(|p| match (profile, engine.capabilities().lacks(*p)) {
                    (_, Some(why)) => why.to_string(),
                    (_, None) => format!("{} is outside the Wasm {} profile", p.name(), profile.name()),
                })
                .collect();
            return Some(format!("the module needs {}: {}", names.join(" and "), why.join("; ")));
        }
    }
    Some(match profile {
        WasmProfile::Wasm2 => format!("the module needs a proposal outside the Wasm 2.0 profile (--wasm-features 2.0): {}", err.message()),
        WasmProfile::Wasm3 => format!("{engine} cannot validate the module: {}", err.message()),
    })
}
