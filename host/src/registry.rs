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
    /// V8 as Node.js ships it: Liftoff, then TurboFan; its trap handler
    /// (guard regions and a SIGSEGV handler) for bounds checks.
    V8,
    /// V8 with `--wasm-enforce-bounds-checks`: bounds checks in code.
    V8Explicit,
    /// V8 with `--liftoff-only`: the baseline compiler, never tiered up.
    V8Liftoff,
    /// wazero's optimizing compiler (pure Go, no cgo).
    Wazero,
    /// wazero's interpreter.
    WazeroInterp,
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
    /// Google's V8, in Node.js, through the adapter `engines/v8/`.
    V8,
    /// Tetrate's wazero, a Go module, through the adapter `engines/wazero/`.
    Wazero,
}

impl EngineFamily {
    pub fn name(self) -> &'static str {
        match self {
            EngineFamily::Wasmtime => "wasmtime",
            EngineFamily::Wasmi => "wasmi",
            EngineFamily::V8 => "v8",
            EngineFamily::Wazero => "wazero",
        }
    }

    /// Every family, in column order.
    pub const ALL: [EngineFamily; 4] = [EngineFamily::Wasmtime, EngineFamily::Wasmi, EngineFamily::V8, EngineFamily::Wazero];
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
    /// The guest runs on a thread of its own (a Node.js worker thread);
    /// the adapter's main thread terminates that thread once its CPU budget
    /// is spent. The instance dies with it; the process lives on.
    TerminateThread,
    /// The call's context is cancelled once the budget is spent; the
    /// engine checks it at loop headers (only there) and closes
    /// the module (wazero's `WithCloseOnContextDone`).
    CancelContext,
}

impl Interruption {
    /// What stopped the guest, for evidence sentences.
    pub fn how(self) -> &'static str {
        match self {
            Interruption::Epoch => "the watchdog bumped the engine's epoch",
            Interruption::Fuel => "the worker stopped the call (it gave no more fuel, or ended it at its next host call)",
            Interruption::TerminateThread => "the adapter terminated the thread the guest ran on",
            Interruption::CancelContext => "the adapter cancelled the call's context and the engine closed the module",
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
            Interruption::TerminateThread => "terminate_thread",
            Interruption::CancelContext => "cancel_context",
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
    /// An adapter: a program in the engine's own language, in
    /// `engines/<folder>/`, that speaks the worker protocol.
    Adapter(Adapter),
}

/// An out-of-process engine adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adapter {
    pub runtime: AdapterRuntime,
    /// Its folder under `engines/`.
    pub folder: &'static str,
    /// Flags for the runtime, before the adapter's own path (V8's options
    /// on node's command line, visible in `ps`).
    pub flags: &'static [&'static str],
}

/// What runs an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterRuntime {
    /// `node <flags> engines/<folder>/adapter.mjs <model>`: no build step.
    Node,
    /// A Go module in `engines/<folder>/`, built with `go build` into
    /// faultbox's cache on first use, run as `<binary> <model>`.
    Go,
}

impl Start {
    /// How it starts, in a few words, for reports.
    pub fn how(self) -> &'static str {
        match self {
            Start::Embedded => "embedded in faultbox's worker process (`faultbox worker <model>`)",
            Start::Adapter(Adapter { runtime: AdapterRuntime::Node, .. }) => {
                "a Node.js adapter process (`node engines/v8/adapter.mjs <model>`) speaking the worker protocol"
            }
            Start::Adapter(Adapter { runtime: AdapterRuntime::Go, .. }) => {
                "a Go adapter program (`engines/wazero/`, built on first use) speaking the worker protocol"
            }
        }
    }

    pub fn adapter(self) -> Option<Adapter> {
        match self {
            Start::Embedded => None,
            Start::Adapter(a) => Some(a),
        }
    }
}

/// Where a configuration's version comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Pinned by faultbox: Cargo.lock for an embedded engine, the adapter's
    /// `go.mod` for a Go one (tests hold them equal).
    Pinned(&'static str),
    /// Whatever the installed runtime carries (Node's V8): the worker's
    /// hello says which.
    Installed,
}

impl Version {
    /// The version for reports when no worker has said it yet.
    pub fn text(self) -> &'static str {
        match self {
            Version::Pinned(v) => v,
            Version::Installed => "as installed",
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
    /// The engine's version: pinned, or the installed runtime's.
    pub version: Version,
    /// The configuration within the family, in a few words.
    pub configuration: &'static str,
    /// One sentence for reports.
    pub description: &'static str,
    pub capabilities: Capabilities,
    pub start: Start,
}

const WASMTIME: Version = Version::Pinned("48.0.8");
const WASMI: Version = Version::Pinned("2.0.0");
const WAZERO: Version = Version::Pinned("1.12.0");

/// What Node.js 20's V8 (11.3) does not ship of Wasm 3.0: each landed in
/// a later V8 (V8's feature flags, `src/wasm/wasm-feature-flags.h`, and
/// chromestatus), and is off here unless a `--experimental-wasm-*` flag
/// turns it on, which faultbox does not: a plugin host runs what Node
/// ships.
const V8_LACKS: &[(Proposal, &str)] = &[
    (Proposal::ExtendedConst, "Node 20's V8 11.3 does not ship extended constant expressions (shipped in V8 11.4)"),
    (Proposal::RelaxedSimd, "Node 20's V8 11.3 does not ship relaxed SIMD (shipped in V8 11.4)"),
    (Proposal::FunctionReferences, "Node 20's V8 11.3 does not ship typed function references (shipped with GC in V8 11.9)"),
    (Proposal::Gc, "Node 20's V8 11.3 does not ship the final garbage collection proposal (shipped in V8 11.9)"),
    (Proposal::MultiMemory, "Node 20's V8 11.3 does not ship multiple memories (shipped in V8 12.0)"),
    (Proposal::Memory64, "Node 20's V8 11.3 does not ship 64-bit memories (shipped in V8 13.3)"),
    (Proposal::Exceptions, "Node 20's V8 11.3 has only the legacy exception handling (`try`/`catch`), not `try_table` and exnref (shipped in V8 13.7)"),
];

/// wazero 1.12 ships WebAssembly 2.0 (`api.CoreFeaturesV2`, its
/// default). Some proposals it has only as experimental features, off by
/// default (`experimental/features.go`); faultbox runs it as it ships, as
/// a plugin host that takes the defaults does. The rest it lacks.
const WAZERO_LACKS: &[(Proposal, &str)] = &[
    (Proposal::TailCalls, "wazero 1.12.0 has tail calls only as an experimental feature, off by default (and it would check a call's context only at loop headers, never in a tail-call loop)"),
    (Proposal::ExtendedConst, "wazero 1.12.0 has extended constant expressions only as an experimental feature, off by default"),
    (Proposal::FunctionReferences, "wazero 1.12.0 has typed function references only as an experimental feature, off by default"),
    (Proposal::Gc, "wazero 1.12.0 does not implement garbage collection"),
    (Proposal::MultiMemory, "wazero 1.12.0 does not implement multiple memories"),
    (Proposal::Memory64, "wazero 1.12.0 does not implement 64-bit memories"),
    (Proposal::RelaxedSimd, "wazero 1.12.0 does not implement relaxed SIMD"),
    (Proposal::Exceptions, "wazero 1.12.0 has exception handling only as an experimental feature, off by default"),
];

/// Every V8 configuration can do the same; only its bounds checks differ.
const fn v8_capabilities(signals_based_traps: bool) -> Capabilities {
    Capabilities { lacks: V8_LACKS, wasi_p1: true, backtraces: true, interruption: Interruption::TerminateThread, signals_based_traps }
}

const WAZERO_CAPABILITIES: Capabilities =
    Capabilities { lacks: WAZERO_LACKS, wasi_p1: true, backtraces: true, interruption: Interruption::CancelContext, signals_based_traps: false };

const fn node_adapter(flags: &'static [&'static str]) -> Start {
    Start::Adapter(Adapter { runtime: AdapterRuntime::Node, folder: "v8", flags })
}
const GO_ADAPTER: Start = Start::Adapter(Adapter { runtime: AdapterRuntime::Go, folder: "wazero", flags: &[] });

/// wasmi 2.0 implements neither of these (its `Config` has no switch for
/// them and its translator rejects their opcodes); a module that uses one
/// fails validation with wasmparser's "proposal not enabled".
const WASMI_LACKS: &[(Proposal, &str)] = &[
    (Proposal::FunctionReferences, "wasmi 2.0.0 does not implement typed function references (no `wasm_function_references` in its Config)"),
    (Proposal::Gc, "wasmi 2.0.0 does not implement garbage collection (no GC types or heap)"),
    (Proposal::Exceptions, "wasmi 2.0.0 does not implement exception handling (no `try_table`, `throw` or tags)"),
];

/// Every configuration, in column order.
pub const ROWS: [EngineRow; 9] = [
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
    EngineRow {
        config: EngineConfig::V8,
        model: "v8",
        family: EngineFamily::V8,
        version: Version::Installed,
        configuration: "Liftoff then TurboFan, trap handler",
        description: "V8 in Node.js, as Node ships it: Liftoff then TurboFan, bounds checks by its trap handler",
        capabilities: v8_capabilities(true),
        start: node_adapter(&[]),
    },
    EngineRow {
        config: EngineConfig::V8Explicit,
        model: "v8-explicit",
        family: EngineFamily::V8,
        version: Version::Installed,
        configuration: "explicit bounds checks",
        description: "V8 in Node.js with --wasm-enforce-bounds-checks: bounds checks in code",
        capabilities: v8_capabilities(false),
        start: node_adapter(&["--wasm-enforce-bounds-checks"]),
    },
    EngineRow {
        config: EngineConfig::V8Liftoff,
        model: "v8-liftoff",
        family: EngineFamily::V8,
        version: Version::Installed,
        configuration: "Liftoff only",
        description: "V8 in Node.js with --liftoff-only: the baseline compiler, never tiered up",
        capabilities: v8_capabilities(true),
        start: node_adapter(&["--liftoff-only"]),
    },
    EngineRow {
        config: EngineConfig::Wazero,
        model: "wazero",
        family: EngineFamily::Wazero,
        version: WAZERO,
        configuration: "compiler",
        description: "wazero (pure Go), its optimizing compiler, budgets by context cancellation",
        capabilities: WAZERO_CAPABILITIES,
        start: GO_ADAPTER,
    },
    EngineRow {
        config: EngineConfig::WazeroInterp,
        model: "wazero-interp",
        family: EngineFamily::Wazero,
        version: WAZERO,
        configuration: "interpreter",
        description: "wazero (pure Go), its interpreter, budgets by context cancellation",
        capabilities: WAZERO_CAPABILITIES,
        start: GO_ADAPTER,
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

    /// The versions the registry states are the ones Cargo.lock (an
    /// embedded engine) or the adapter's go.mod pins.
    #[test]
    fn versions_match_the_lock_file() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let lock = std::fs::read_to_string(format!("{root}/Cargo.lock")).unwrap();
        for row in &ROWS {
            let (Version::Pinned(version), start) = (row.version, row.start) else { continue };
            match start.adapter() {
                None => {
                    let entry = format!("name = \"{}\"\nversion = \"{version}\"", row.family.name());
                    assert!(lock.contains(&entry), "Cargo.lock does not pin {} {version}", row.family.name());
                }
                Some(a) => {
                    let go_mod = std::fs::read_to_string(format!("{root}/engines/{}/go.mod", a.folder)).unwrap();
                    assert!(go_mod.contains(&format!(" v{version}")), "engines/{}/go.mod does not pin {version}", a.folder);
                }
            }
        }
    }
}
