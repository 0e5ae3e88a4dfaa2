//! Engine configuration per wasm execution model, and the WebAssembly
//! feature profile (2.0 or 3.0) the engines accept.

use crate::model::{ExecutionModel, WasmEngine};
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, WasmFeatures};

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

/// A Wasm 3.0 proposal, as wasmtime's feature flags.
#[derive(Clone, Copy, Debug)]
pub struct Proposal {
    pub name: &'static str,
    pub flags: WasmFeatures,
}

/// The Wasm 3.0 proposals beyond 2.0. The 3.0 profile enables each one an
/// engine configuration supports ([`unsupported`]); the 2.0 profile none.
pub const PROPOSALS: [Proposal; 8] = [
    Proposal { name: "tail calls", flags: WasmFeatures::TAIL_CALL },
    Proposal { name: "extended constant expressions", flags: WasmFeatures::EXTENDED_CONST },
    Proposal { name: "typed function references", flags: WasmFeatures::FUNCTION_REFERENCES },
    // Not GC_TYPES: wasmparser's switch for any GC-managed reference type,
    // which Wasm 2.0's externref needs too.
    Proposal { name: "garbage collection", flags: WasmFeatures::GC },
    Proposal { name: "multiple memories", flags: WasmFeatures::MULTI_MEMORY },
    Proposal { name: "64-bit memories", flags: WasmFeatures::MEMORY64 },
    Proposal { name: "relaxed SIMD", flags: WasmFeatures::RELAXED_SIMD },
    Proposal { name: "exception handling", flags: WasmFeatures::EXCEPTIONS },
];

/// Proposals that are not part of Wasm 3.0, kept off in both profiles so
/// that a module using them is reported as such instead of half-supported.
const NOT_WASM3: WasmFeatures = WasmFeatures::WIDE_ARITHMETIC
    .union(WasmFeatures::CUSTOM_PAGE_SIZES)
    .union(WasmFeatures::STACK_SWITCHING)
    .union(WasmFeatures::LEGACY_EXCEPTIONS)
    .union(WasmFeatures::SHARED_EVERYTHING_THREADS)
    .union(WasmFeatures::THREADS);

/// Why an engine configuration lacks a proposal, if it does. wasmtime 48
/// compiles every Wasm 3.0 proposal with Cranelift for x86-64 and for
/// Pulley, with or without signals-based traps (its `compiler_panicking_
/// wasm_features` withholds only threads and stack switching from Pulley,
/// and Winch, which faultbox does not use, is the one compiler without
/// GC, exceptions and tail calls). The function exists so that the day a
/// configuration lacks one, it is said here, not met as a compile error.
pub fn unsupported(model: ExecutionModel, proposal: &Proposal) -> Option<&'static str> {
    match (model, proposal.name) {
        (ExecutionModel::Native, _) => Some("the native model has no wasm engine"),
        _ => None,
    }
}

/// One line per proposal and engine configuration: what the profile
/// enables. Shown by `faultbox wast` and in reports.
pub fn profile_table(profile: WasmProfile, models: &[ExecutionModel]) -> Vec<String> {
    let mut lines = Vec::new();
    for m in models.iter().filter(|m| m.is_wasm()) {
        let mut on = Vec::new();
        let mut off = Vec::new();
        for p in &PROPOSALS {
            match (profile, unsupported(*m, p)) {
                (WasmProfile::Wasm2, _) => off.push(format!("{} (not in Wasm 2.0)", p.name)),
                (WasmProfile::Wasm3, None) => on.push(p.name.to_string()),
                (WasmProfile::Wasm3, Some(why)) => off.push(format!("{} ({why})", p.name)),
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

/// Wasm backtraces keep at most this many frames: a stack overflow has
/// thousands, and capturing them all is what makes a trap expensive.
pub const BACKTRACE_FRAMES: usize = 32;

/// The pool's per-slot limits (wasmtime's defaults allow one memory and
/// one table per module). [`pool_refusal`] checks a module against them
/// before any worker sees it.
pub const POOL_MAX_MEMORY_BYTES: u64 = 4 << 30;
pub const POOL_TABLE_ELEMENTS: u64 = 1 << 16;
const POOL_MEMORIES_PER_MODULE: usize = 1;
const POOL_TABLES_PER_MODULE: usize = 1;

/// Why the scenario engines cannot take `bytes` (a module valid for
/// wasmparser's defaults), if they cannot: a proposal no engine enables
/// (threads, a `shared` memory), or more than a pool slot holds. Said when
/// a manifest loads, so that no run meets it as an instantiation error.
pub fn engine_refusal(bytes: &[u8]) -> Option<String> {
    let spec = EngineSpec {
        allocation: Allocation::OnDemand,
        profile: WasmProfile::Wasm3,
        ..EngineSpec::new(WasmEngine::Cranelift, 512)
    };
    // Built once: every `.wat` scenario of a catalog is checked with it.
    static ENGINE: std::sync::OnceLock<Result<wasmtime::Engine, String>> = std::sync::OnceLock::new();
    let engine = match ENGINE.get_or_init(|| spec.build().map_err(|e| format!("{e:#}"))) {
        Ok(engine) => engine,
        Err(e) => return Some(format!("cannot build an engine to check it: {e}")),
    };
    if let Err(e) = wasmtime::Module::validate(&engine, bytes) {
        return Some(format!("the wasm engines cannot take it: {e:#}"));
    }
    pool_refusal(bytes)
}

/// Why a pool slot cannot hold the module's memories and tables, if not.
fn pool_refusal(bytes: &[u8]) -> Option<String> {
    use wasmparser::{Parser, Payload};
    let (mut memories, mut tables) = (0usize, 0usize);
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::MemorySection(reader)) => {
                for memory in reader.into_iter().flatten() {
                    memories += 1;
                    if memory.shared {
                        return Some("its memory is `shared`, which the pooling allocator cannot hold".into());
                    }
                    let page = memory.page_size_log2.map_or(65536u128, |l| 1u128 << l);
                    let min = memory.initial as u128 * page;
                    if min > POOL_MAX_MEMORY_BYTES as u128 {
                        return Some(format!(
                            "its memory starts at {min} bytes, beyond the pool's {POOL_MAX_MEMORY_BYTES}-byte slots"
                        ));
                    }
                }
            }
            Ok(Payload::TableSection(reader)) => {
                for table in reader.into_iter().flatten() {
                    tables += 1;
                    if table.ty.initial > POOL_TABLE_ELEMENTS {
                        return Some(format!(
                            "a table starts with {} elements, beyond the pool's {POOL_TABLE_ELEMENTS}",
                            table.ty.initial
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if memories > POOL_MEMORIES_PER_MODULE {
        return Some(format!("it defines {memories} memories; a pool slot holds {POOL_MEMORIES_PER_MODULE}"));
    }
    if tables > POOL_TABLES_PER_MODULE {
        return Some(format!("it defines {tables} tables; a pool slot holds {POOL_TABLES_PER_MODULE}"));
    }
    None
}

/// How instances are allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Allocation {
    /// Pre-reserved slots and copy-on-write memory images: a fresh instance
    /// costs microseconds. Used for scenarios, bench and soak.
    Pooling,
    /// mmap per instance: for arbitrary modules (spec tests, random modules)
    /// whose tables and memories may not fit a pool slot.
    OnDemand,
}

/// What an engine is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EngineSpec {
    pub model: WasmEngine,
    pub wasm_stack_kib: u64,
    pub allocation: Allocation,
    pub backtraces: bool,
    /// Count fuel (random modules run under a fuel budget).
    pub fuel: bool,
    pub profile: WasmProfile,
}

impl EngineSpec {
    pub fn new(model: WasmEngine, wasm_stack_kib: u64) -> EngineSpec {
        EngineSpec {
            model,
            wasm_stack_kib,
            allocation: Allocation::Pooling,
            backtraces: true,
            fuel: false,
            profile: WasmProfile::current(),
        }
    }

    pub fn build(&self) -> anyhow::Result<Engine> {
        Engine::new(&self.config()?).map_err(anyhow::Error::from)
    }

    /// The configuration this spec stands for: the one place where a wasm
    /// execution model becomes engine settings.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::new();
        config
            .max_wasm_stack(self.wasm_stack_kib as usize * 1024)
            .epoch_interruption(true)
            .consume_fuel(self.fuel)
            .wasm_backtrace_max_frames(if self.backtraces { NonZeroUsize::new(BACKTRACE_FRAMES) } else { None });
        match self.model {
            WasmEngine::Cranelift => {}
            WasmEngine::Explicit => {
                config.signals_based_traps(false);
            }
            WasmEngine::Pulley => {
                config.target("pulley64").map_err(anyhow::Error::from)?;
            }
        }
        // Every proposal is set explicitly, on or off: wasmtime's defaults
        // move between releases, the profile must not.
        config.wasm_features(NOT_WASM3, false);
        for p in &PROPOSALS {
            let on = self.profile == WasmProfile::Wasm3 && unsupported(self.model.into(), p).is_none();
            config.wasm_features(p.flags, on);
        }
        if self.allocation == Allocation::Pooling {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(64)
                .total_memories(64)
                .total_tables(64)
                .max_memory_size(POOL_MAX_MEMORY_BYTES as usize)
                .table_elements(POOL_TABLE_ELEMENTS as usize)
                // Reset a slot by rewriting only the pages the instance
                // dirtied (found with PAGEMAP_SCAN, Linux 6.7+), keeping up
                // to 1 MiB of them resident: measured on the guest, this
                // takes a fresh instance plus drop from ~28 µs (memset of
                // the whole resident MiB) to ~5 µs, and the next instance
                // takes no page faults.
                .linear_memory_keep_resident(1 << 20)
                .pagemap_scan(wasmtime::Enabled::Auto)
                .table_keep_resident(1 << 16)
                .max_unused_warm_slots(8);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        Ok(config)
    }
}
