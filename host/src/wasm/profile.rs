//! The WebAssembly feature profile (2.0 or 3.0) every engine of one
//! faultbox run accepts, and what it enables per engine configuration.

use crate::model::ExecutionModel;
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
