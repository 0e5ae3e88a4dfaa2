//! The wasm fault-to-usable-again cycle, for `faultbox bench` and
//! `cargo bench`: a fresh instance from the pool, the faulting call, the
//! trap classified, the instance dropped back into the pool.

use super::{EngineSet, EngineSpec, ModuleCache, RunState, instantiate, trap::trap_of};
use crate::outcome::FaultClass;
use crate::worker::protocol::ModuleSource;
use crate::limits::Limits;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::{Engine, InstancePre, Store};

/// Everything a cycle needs, prepared once (compile, link, pool).
pub struct TrapCycle {
    engine: Engine,
    pre: InstancePre<RunState>,
    export: String,
    arg: i64,
    memory_bytes: u64,
    _ticker: EpochTicker,
}

/// Bumps an engine's epoch every `period`, so that a cycle that runs away
/// traps with `interrupt` after one to two periods. A free-running ticker
/// costs the cycle nothing, unlike arming a watchdog per cycle.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine, period: Duration) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let theirs = stop.clone();
        let _ = std::thread::Builder::new().name("fb-epoch-ticker".into()).spawn(move || {
            while !theirs.load(Ordering::Relaxed) {
                std::thread::sleep(period);
                engine.increment_epoch();
            }
        });
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Where one cycle's time went, in nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct CycleTimes {
    /// Fresh instance from the pool, plus `fb_init`.
    pub instantiate_ns: u64,
    /// The call, up to the trap returning to the host.
    pub trap_ns: u64,
    /// Classification and returning the instance to the pool.
    pub teardown_ns: u64,
}

impl TrapCycle {
    pub fn new(spec: EngineSpec, source: &ModuleSource, export: &str, arg: i64, limits: &Limits, cache: &ModuleCache) -> anyhow::Result<TrapCycle> {
        let mut set = EngineSet::new(spec)?;
        let pre = set.instance_pre(source, cache)?;
        let engine = set.engine.clone();
        let ticker = EpochTicker::start(engine.clone(), Duration::from_millis(limits.timeout_ms));
        Ok(TrapCycle { engine, pre, export: export.to_string(), arg, memory_bytes: limits.memory_bytes(), _ticker: ticker })
    }

    /// One cycle. Returns the fault class observed and where the time went.
    pub fn once(&self) -> anyhow::Result<(FaultClass, CycleTimes)> {
        let t0 = Instant::now();
        let mut store = Store::new(&self.engine, RunState::new(self.memory_bytes, |_| {}));
        store.limiter(|s| &mut s.limiter);
        // Two ticks: a tick that happens to fall inside a quick cycle must
        // not interrupt it.
        store.set_epoch_deadline(2);
        let instance = instantiate(&self.pre, &mut store).map_err(anyhow::Error::from)?;
        let func = instance.get_typed_func::<i64, i64>(&mut store, &self.export).map_err(anyhow::Error::from)?;
        let t1 = Instant::now();
        let result = func.call(&mut store, self.arg);
        let t2 = Instant::now();
        let class = match &result {
            Ok(_) => FaultClass::None,
            Err(e) => trap_of(e).map_or(FaultClass::Unknown, |code| code.fault_class()),
        };
        drop(store);
        let t3 = Instant::now();
        let ns = |a: Instant, b: Instant| (b - a).as_nanos() as u64;
        Ok((class, CycleTimes { instantiate_ns: ns(t0, t1), trap_ns: ns(t1, t2), teardown_ns: ns(t2, t3) }))
    }
}

/// Compiles `source` with caching off and on: (compile, load from cache), ns.
pub fn compile_times(spec: EngineSpec, source: &ModuleSource, cache: &ModuleCache) -> anyhow::Result<(u64, u64)> {
    let engine = spec.build()?;
    let bytes = super::module_bytes(source)?;
    let t = Instant::now();
    ModuleCache::disabled().load(&engine, &bytes)?;
    let compile = t.elapsed().as_nanos() as u64;
    cache.load(&engine, &bytes)?; // make sure it is cached
    let t = Instant::now();
    cache.load(&engine, &bytes)?;
    Ok((compile, t.elapsed().as_nanos() as u64))
}
