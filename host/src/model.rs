//! The execution models faultbox compares.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where and how guest code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ExecutionModel {
    /// The guest compiled to wasm, run by wasmtime (Cranelift, signals-based
    /// traps: bounds checks through guard pages) in a worker process.
    #[serde(rename = "wasm")]
    Wasm,
    /// As `wasm`, with `signals_based_traps(false)`: every bounds and
    /// division check is explicit code, no signal handler is involved.
    #[serde(rename = "wasm-explicit")]
    WasmExplicit,
    /// As `wasm`, interpreted by Pulley, wasmtime's portable interpreter.
    #[serde(rename = "wasm-pulley")]
    WasmPulley,
    /// The same guest source compiled natively and run in a forked child,
    /// wrapped in `catch_unwind`.
    #[serde(rename = "native")]
    Native,
}

impl ExecutionModel {
    pub const ALL: [ExecutionModel; 4] = [
        ExecutionModel::Wasm,
        ExecutionModel::WasmExplicit,
        ExecutionModel::WasmPulley,
        ExecutionModel::Native,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ExecutionModel::Wasm => "wasm",
            ExecutionModel::WasmExplicit => "wasm-explicit",
            ExecutionModel::WasmPulley => "wasm-pulley",
            ExecutionModel::Native => "native",
        }
    }

    pub fn from_name(name: &str) -> Option<ExecutionModel> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn is_wasm(self) -> bool {
        self.wasm_engine().is_some()
    }

    /// The wasm engine of a wasm model; `None` for native.
    pub fn wasm_engine(self) -> Option<WasmEngine> {
        match self {
            ExecutionModel::Wasm => Some(WasmEngine::Cranelift),
            ExecutionModel::WasmExplicit => Some(WasmEngine::Explicit),
            ExecutionModel::WasmPulley => Some(WasmEngine::Pulley),
            ExecutionModel::Native => None,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ExecutionModel::Wasm => "wasmtime, Cranelift, signals-based traps",
            ExecutionModel::WasmExplicit => "wasmtime, Cranelift, explicit checks (no signal handlers)",
            ExecutionModel::WasmPulley => "wasmtime, Pulley interpreter",
            ExecutionModel::Native => "native code in a forked child, inside catch_unwind",
        }
    }
}

/// One of the wasm models: which engine a wasm worker builds. A separate
/// type from [`ExecutionModel`] so that a wasm worker, an engine or a wasm
/// request cannot be given the native model. Written as the model's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WasmEngine {
    /// `wasm`: Cranelift, signals-based traps.
    #[serde(rename = "wasm")]
    Cranelift,
    /// `wasm-explicit`: Cranelift, explicit checks, no signal handlers.
    #[serde(rename = "wasm-explicit")]
    Explicit,
    /// `wasm-pulley`: the Pulley interpreter.
    #[serde(rename = "wasm-pulley")]
    Pulley,
}

impl WasmEngine {
    pub const ALL: [WasmEngine; 3] = [WasmEngine::Cranelift, WasmEngine::Explicit, WasmEngine::Pulley];

    /// The execution model this engine is.
    pub fn model(self) -> ExecutionModel {
        match self {
            WasmEngine::Cranelift => ExecutionModel::Wasm,
            WasmEngine::Explicit => ExecutionModel::WasmExplicit,
            WasmEngine::Pulley => ExecutionModel::WasmPulley,
        }
    }

    pub fn name(self) -> &'static str {
        self.model().name()
    }
}

impl From<WasmEngine> for ExecutionModel {
    fn from(e: WasmEngine) -> ExecutionModel {
        e.model()
    }
}

impl fmt::Display for WasmEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ExecutionModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The language a guest is written in: the matrix's third axis, beside
/// scenario and execution model. What faultbox knows of each (how it is
/// built, called, launched and how it dies) is its descriptor in
/// `crate::language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// The `faultbox-guests` crate (`guests/rust/`): embedded as wasm,
    /// linked natively and run in the fork server's child.
    Rust,
    /// The Go guest (`guests/go/`): a `GOOS=wasip1` reactor, and a program
    /// exec'd per run natively.
    Go,
    /// Hand-written WebAssembly text (`scenarios/wat/`): wasm models only.
    Wat,
    /// The C guest (`guests/c/`): a wasm32-wasi reactor built with clang
    /// and wasi-libc, and a shared library dlopen'd in the fork server's
    /// child natively.
    C,
    /// A module or program faultbox did not build: `run --wasm FILE`,
    /// `run --native PROGRAM`, or a manifest's `[guest.prebuilt]`.
    Prebuilt,
}

impl Language {
    pub const ALL: [Language; 5] = [Language::Rust, Language::Go, Language::Wat, Language::C, Language::Prebuilt];

    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Wat => "wat",
            Language::C => "c",
            Language::Prebuilt => "prebuilt",
        }
    }

    pub fn from_name(name: &str) -> Option<Language> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
