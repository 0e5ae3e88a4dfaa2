//! Engine configuration per wasm execution model, and the epoch watchdog
//! that turns a wall-clock deadline into an `interrupt` trap.

use crate::model::ExecutionModel;
use std::num::NonZeroUsize;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Wasm backtraces keep at most this many frames: a stack overflow has
/// thousands, and capturing them all is what makes a trap expensive.
pub const BACKTRACE_FRAMES: usize = 32;

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
    pub model: ExecutionModel,
    pub wasm_stack_kib: u64,
    pub allocation: Allocation,
    pub backtraces: bool,
    /// Count fuel (random modules run under a fuel budget).
    pub fuel: bool,
}

impl EngineSpec {
    pub fn new(model: ExecutionModel, wasm_stack_kib: u64) -> EngineSpec {
        EngineSpec { model, wasm_stack_kib, allocation: Allocation::Pooling, backtraces: true, fuel: false }
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
            ExecutionModel::Wasm => {}
            ExecutionModel::WasmExplicit => {
                config.signals_based_traps(false);
            }
            ExecutionModel::WasmPulley => {
                config.target("pulley64").map_err(anyhow::Error::from)?;
            }
            ExecutionModel::Native => anyhow::bail!("the native model has no wasm engine"),
        }
        if self.allocation == Allocation::Pooling {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(64)
                .total_memories(64)
                .total_tables(64)
                .max_memory_size(4 << 30)
                .table_elements(1 << 16)
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

/// A thread that bumps an engine's epoch when the current run's deadline
/// passes. Stores run with an epoch deadline of one tick, so the bump makes
/// the running guest trap with `interrupt` at its next epoch check.
pub struct Watchdog {
    shared: Arc<(Mutex<Option<(Instant, Engine)>>, Condvar)>,
}

impl Watchdog {
    pub fn new() -> Watchdog {
        let shared: Arc<(Mutex<Option<(Instant, Engine)>>, Condvar)> = Arc::default();
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("fb-watchdog".into())
            .spawn(move || {
                let (lock, cvar) = &*theirs;
                let mut armed = lock.lock().unwrap();
                loop {
                    match armed.as_ref() {
                        None => armed = cvar.wait(armed).unwrap(),
                        Some((deadline, engine)) => {
                            let now = Instant::now();
                            if now >= *deadline {
                                engine.increment_epoch();
                                *armed = None;
                            } else {
                                let wait = *deadline - now;
                                armed = cvar.wait_timeout(armed, wait).unwrap().0;
                            }
                        }
                    }
                }
            })
            .expect("spawn the epoch watchdog");
        Watchdog { shared }
    }

    pub fn arm(&self, engine: &Engine, timeout: Duration) {
        let (lock, cvar) = &*self.shared;
        *lock.lock().unwrap() = Some((Instant::now() + timeout, engine.clone()));
        cvar.notify_one();
    }

    pub fn disarm(&self) {
        let (lock, cvar) = &*self.shared;
        *lock.lock().unwrap() = None;
        cvar.notify_one();
    }
}
