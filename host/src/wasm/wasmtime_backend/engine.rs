//! wasmtime's engine configuration per execution model: where a registry
//! row becomes wasmtime settings.

use crate::model::EngineConfig;
use crate::registry::Proposal;
use crate::wasm::WasmProfile;
use std::num::NonZeroUsize;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, WasmFeatures};

/// Proposals that are not part of Wasm 3.0, kept off in both profiles so
/// that a module using them is reported as such instead of half-supported.
const NOT_WASM3: WasmFeatures = WasmFeatures::WIDE_ARITHMETIC
    .union(WasmFeatures::CUSTOM_PAGE_SIZES)
    .union(WasmFeatures::STACK_SWITCHING)
    .union(WasmFeatures::LEGACY_EXCEPTIONS)
    .union(WasmFeatures::SHARED_EVERYTHING_THREADS)
    .union(WasmFeatures::THREADS);

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
        ..EngineSpec::new(EngineConfig::Cranelift, 512)
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
    pub model: EngineConfig,
    pub wasm_stack_kib: u64,
    pub allocation: Allocation,
    pub backtraces: bool,
    /// Count fuel (random modules run under a fuel budget).
    pub fuel: bool,
    pub profile: WasmProfile,
}

impl EngineSpec {
    pub fn new(model: EngineConfig, wasm_stack_kib: u64) -> EngineSpec {
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
            EngineConfig::Cranelift => {}
            EngineConfig::Explicit => {
                config.signals_based_traps(false);
            }
            EngineConfig::Pulley => {
                config.target("pulley64").map_err(anyhow::Error::from)?;
            }
            other => anyhow::bail!("{other} is not a wasmtime configuration ({})", other.family().name()),
        }
        // Every proposal is set explicitly, on or off: wasmtime's defaults
        // move between releases, the profile must not.
        config.wasm_features(NOT_WASM3, false);
        // wasmtime 48 compiles every Wasm 3.0 proposal with Cranelift for
        // x86-64 and for Pulley, with or without signals-based traps (its
        // `compiler_panicking_wasm_features` withholds only threads and
        // stack switching from Pulley): the registry's rows say so.
        for p in Proposal::ALL {
            let on = self.profile == WasmProfile::Wasm3 && self.model.capabilities().lacks(p).is_none();
            config.wasm_features(crate::wasm::proposal_features(p), on);
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
