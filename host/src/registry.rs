//! The registry of wasm engine configurations: one row per configuration,
//! and the one place where faultbox lists them. Reports, `bench`, `wast`,
//! `fuzz`, `soak`, manifests and the tests read it; nothing else names an
//! engine by hand.
//!
//! A row says what the configuration is (model name, engine family,
//! version, configuration), what it can do (the Wasm 3.0 proposals it
//! implements, WASI preview 1, backtraces, how a CPU budget stops a
//! running guest, whether it traps through signal handlers) and how it is
//! started. Layer 0: vocabulary only.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One engine configuration: the key of a registry row. The set is closed
/// at compile time; adding a configuration is a variant here, its row in
/// [`ROWS`], and a backend that builds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineConfig {
    /// wasmtime, Cranelift, bounds checks through guard pages and signals.
    Cranelift,
    /// wasmtime, Cranelift, `signals_based_traps(false)`: every check is code.
    Explicit,
    /// wasmtime's Pulley interpreter.
    Pulley,
    /// wasmi, a pure-Rust interpreter.
    Wasmi,
}

/// An implementation of faultbox's wasm backend: the engines one backend
/// serves differ only in configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineFamily {
    /// Bytecode Alliance's wasmtime, embedded in faultbox's worker.
    Wasmtime,
    /// wasmi, embedded in faultbox's worker.
    Wasmi,
}

impl EngineFamily {
    pub fn name(self) -> &'static str {
        match self {
            EngineFamily::Wasmtime => "wasmtime",
            EngineFamily::Wasmi => "wasmi",
        }
    }
}

/// How a CPU budget stops a guest that is still running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interruption {
    /// A watchdog thread bumps the engine's epoch; the guest traps at its
    /// next epoch check (loop headers, function entries).
    Epoch,
    /// The call runs on fuel in slices; between slices the worker reads its
    /// thread's CPU clock and stops refuelling once the budget is spent.
    Fuel,
}

impl Interruption {
    /// What stopped the guest, for evidence sentences.
    pub fn how(self) -> &'static str {
        match self {
            Interruption::Epoch => "the watchdog bumped the engine's epoch",
            Interruption::Fuel => "the worker stopped the call (it gave no more fuel, or ended it at its next host call)",
        }
    }
}

/// A WebAssembly 3.0 proposal beyond 2.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Proposal {
    TailCalls,
    ExtendedConst,
    FunctionReferences,
    Gc,
    MultiMemory,
    Memory64,
    RelaxedSimd,
    Exceptions,
}

impl Proposal {
    pub const ALL: [Proposal; 8] = [
        Proposal::TailCalls,
        Proposal::ExtendedConst,
        Proposal::FunctionReferences,
        Proposal::Gc,
        Proposal::MultiMemory,
        Proposal::Memory64,
        Proposal::RelaxedSimd,
        Proposal::Exceptions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Proposal::TailCalls => "tail calls",
            Proposal::ExtendedConst => "extended constant expressions",
            Proposal::FunctionReferences => "typed function references",
            Proposal::Gc => "garbage collection",
            Proposal::MultiMemory => "multiple memories",
            Proposal::Memory64 => "64-bit memories",
            Proposal::RelaxedSimd => "relaxed SIMD",
            Proposal::Exceptions => "exception handling",
        }
    }
}

/// What a configuration can do.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// The Wasm 3.0 proposals it does not implement, each with the reason
    /// (from the engine's source). A scenario that needs one is `n/a`.
    pub lacks: &'static [(Proposal, &'static str)],
    /// WASI preview 1 for the modules that import it (Go's and C's reactors).
    pub wasi_p1: bool,
    /// A trap carries the wasm frames that led to it.
    pub backtraces: bool,
    pub interruption: Interruption,
    /// Out-of-bounds accesses and other traps are taken as signals (guard
    /// pages, SIGSEGV/SIGILL/SIGFPE handlers) rather than explicit checks.
    pub signals_based_traps: bool,
}

impl Capabilities {
    /// Why the configuration lacks `p`, if it does.
    pub fn lacks(&self, p: Proposal) -> Option<&'static str> {
        self.lacks.iter().find(|(q, _)| *q == p).map(|(_, why)| *why)
    }

    /// The capabilities as short words, for a worker's hello and reports.
    pub fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        for p in Proposal::ALL {
            if self.lacks(p).is_none() {
                w.push(format!("proposal:{}", serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()));
            }
        }
        if self.wasi_p1 {
            w.push("wasi_p1".into());
        }
        if self.backtraces {
            w.push("backtraces".into());
        }
        w.push(format!("interruption:{}", match self.interruption {
            Interruption::Epoch => "epoch",
            Interruption::Fuel => "fuel",
        }));
        if self.signals_based_traps {
            w.push("signals_based_traps".into());
        }
        w
    }
}

/// How a configuration's worker is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// `faultbox worker <model>`: the engine is linked into faultbox and
    /// runs in faultbox's own worker process.
    Embedded,
}

impl Start {
    /// How it starts, in a few words, for reports.
    pub fn how(self) -> &'static str {
        match self {
            Start::Embedded => "embedded in faultbox's worker process (`faultbox worker <model>`)",
        }
    }
}

/// One row of the registry.
#[derive(Clone, Copy, Debug)]
pub struct EngineRow {
    pub config: EngineConfig,
    /// The execution model's name: columns, `--model`, manifests' keys.
    pub model: &'static str,
    pub family: EngineFamily,
    /// The engine's version, as Cargo.lock pins it (a test holds them equal).
    pub version: &'static str,
    /// The configuration within the family, in a few words.
    pub configuration: &'static str,
    /// One sentence for reports.
    pub description: &'static str,
    pub capabilities: Capabilities,
    pub start: Start,
}

const WASMTIME: &str = "48.0.8";
const WASMI: &str = "2.0.0";

/// wasmi 2.0 implements neither of these (its `Config` has no switch for
/// them and its translator rejects their opcodes); a module that uses one
/// fails validation with wasmparser's "proposal not enabled".
const WASMI_LACKS: &[(Proposal, &str)] = &[
    (Proposal::FunctionReferences, "wasmi 2.0.0 does not implement typed function references (no `wasm_function_references` in its Config)"),
    (Proposal::Gc, "wasmi 2.0.0 does not implement garbage collection (no GC types or heap)"),
    (Proposal::Exceptions, "wasmi 2.0.0 does not implement exception handling (no `try_table`, `throw` or tags)"),
];

/// Every configuration, in column order.
pub const ROWS: [EngineRow; 4] = [
    EngineRow {
        config: EngineConfig::Cranelift,
        model: "wasm",
        family: EngineFamily::Wasmtime,
        version: WASMTIME,
        configuration: "Cranelift, signals-based traps",
        description: "wasmtime, Cranelift, signals-based traps",
        capabilities: Capabilities { lacks: &[], wasi_p1: true, backtraces: true, interruption: Interruption::Epoch, signals_based_traps: true },
        start: Start::Embedded,
    },
    EngineRow {
        config: EngineConfig::Explicit,
        model: "wasm-explicit",
        family: EngineFamily::Wasmtime,
        version: WASMTIME,
        configuration: "Cranelift, explicit checks",
        description: "wasmtime, Cranelift, explicit checks (no signal handlers)",
        capabilities: Capabilities { lacks: &[], wasi_p1: true, backtraces: true, interruption: Interruption::Epoch, signals_based_traps: false },
        start: Start::Embedded,
    },
    EngineRow {
        config: EngineConfig::Pulley,
        model: "wasm-pulley",
        family: EngineFamily::Wasmtime,
        version: WASMTIME,
        configuration: "Pulley interpreter",
        description: "wasmtime, Pulley interpreter",
        capabilities: Capabilities { lacks: &[], wasi_p1: true, backtraces: true, interruption: Interruption::Epoch, signals_based_traps: false },
        start: Start::Embedded,
    },
    EngineRow {
        config: EngineConfig::Wasmi,
        model: "wasmi",
        family: EngineFamily::Wasmi,
        version: WASMI,
        configuration: "interpreter, fuel-metered",
        description: "wasmi, a pure-Rust interpreter, budgets through fuel",
        capabilities: Capabilities { lacks: WASMI_LACKS, wasi_p1: true, backtraces: false, interruption: Interruption::Fuel, signals_based_traps: false },
        start: Start::Embedded,
    },
];

/// Every configuration's model name, in column order.
pub const MODEL_NAMES: [&str; ROWS.len()] = {
    let mut names = [""; ROWS.len()];
    let mut i = 0;
    while i < ROWS.len() {
        names[i] = ROWS[i].model;
        i += 1;
    }
    names
};

impl EngineConfig {
    /// Every configuration, in column order.
    pub const ALL: [EngineConfig; ROWS.len()] = {
        let mut all = [EngineConfig::Cranelift; ROWS.len()];
        let mut i = 0;
        while i < ROWS.len() {
            all[i] = ROWS[i].config;
            i += 1;
        }
        all
    };

    pub fn row(self) -> &'static EngineRow {
        // ROWS is in variant order (a test holds it so).
        &ROWS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.row().model
    }

    pub fn family(self) -> EngineFamily {
        self.row().family
    }

    pub fn capabilities(self) -> Capabilities {
        self.row().capabilities
    }

    pub fn from_name(name: &str) -> Option<EngineConfig> {
        ROWS.iter().find(|r| r.model == name).map(|r| r.config)
    }

    /// The configurations of one family, in column order.
    pub fn of_family(family: EngineFamily) -> impl Iterator<Item = EngineConfig> {
        Self::ALL.into_iter().filter(move |c| c.family() == family)
    }

    /// The model names joined for a message: "wasm, wasm-explicit, …".
    pub fn names() -> String {
        ROWS.iter().map(|r| r.model).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EngineConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EngineConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        EngineConfig::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown engine configuration `{name}` (known: {})", EngineConfig::names())))
    }
}

impl schemars::JsonSchema for EngineConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EngineConfig".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = ROWS.iter().map(|r| r.model).collect();
        schemars::json_schema!({
            "description": "A wasm engine configuration, by its execution model's name (the registry's rows).",
            "type": "string",
            "enum": names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_in_variant_order_and_names_are_unique() {
        for (i, row) in ROWS.iter().enumerate() {
            assert_eq!(row.config as usize, i, "{} is out of order", row.model);
            assert_eq!(EngineConfig::from_name(row.model), Some(row.config));
        }
        let mut names: Vec<_> = ROWS.iter().map(|r| r.model).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ROWS.len());
        assert!(EngineConfig::from_name("native").is_none(), "native is not a wasm engine");
    }

    /// The versions the registry states are the ones Cargo.lock pins.
    #[test]
    fn versions_match_the_lock_file() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        for row in &ROWS {
            let entry = format!("name = \"{}\"\nversion = \"{}\"", row.family.name(), row.version);
            assert!(lock.contains(&entry), "Cargo.lock does not pin {} {}", row.family.name(), row.version);
        }
    }
}
