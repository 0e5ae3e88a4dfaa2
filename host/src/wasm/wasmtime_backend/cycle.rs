//! The wasm fault-to-usable-again cycle, for `faultbox bench` and
//! `cargo bench`: a fresh instance from the pool, the faulting call, the
//! trap classified, and the faulted instance handed to a reaper thread
//! that drops it back into the pool.
//!
//! Dropping a store resets its instance's memory and tables for the next
//! user (~2.3 µs here: more than instantiating, three times an
//! explicit-checks trap). Nothing the next run needs waits for that reset
//! — it takes another pool slot — so the cycle hands the store over and
//! goes on; the reaper's own time is measured and reported beside it. The
//! hand-over channel is bounded: a reaper that falls behind slows the
//! cycle down instead of letting dead instances pile up.

use super::{EngineSet, EngineSpec, ModuleCache, RunState, instantiate, trap::trap_of};
use crate::protocol::CycleTrap;
use crate::protocol::ModuleSource;
use crate::limits::Limits;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
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
    /// `None`: each store is dropped inside the cycle.
    reaper: Option<Reaper>,
    _ticker: EpochTicker,
}

/// A thread that drops faulted stores, timing each drop. Stores go over
/// in batches: waking the thread costs a system call, more than the
/// hand-over itself.
struct Reaper {
    batch: Mutex<Vec<Store<RunState>>>,
    to_reap: Option<SyncSender<Vec<Store<RunState>>>>,
    drops_ns: Arc<Mutex<Vec<u64>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Stores per batch, and batches waiting for the reaper at most: with one
/// batch being dropped, at most 32 dead instances hold pool slots (of 64),
/// and a reaper that falls behind blocks the cycle.
const REAP_BATCH: usize = 8;
const REAP_BACKLOG: usize = 2;

impl Reaper {
    fn start() -> anyhow::Result<Reaper> {
        let (to_reap, inbox) = sync_channel::<Vec<Store<RunState>>>(REAP_BACKLOG);
        let drops_ns = Arc::new(Mutex::new(Vec::new()));
        let theirs = drops_ns.clone();
        let thread = std::thread::Builder::new().name("fb-reaper".into()).spawn(move || {
            for batch in inbox {
                for store in batch {
                    let t = Instant::now();
                    drop(store);
                    let ns = t.elapsed().as_nanos() as u64;
                    if let Ok(mut v) = theirs.lock() {
                        v.push(ns);
                    }
                }
            }
        })?;
        Ok(Reaper { batch: Mutex::new(Vec::with_capacity(REAP_BATCH)), to_reap: Some(to_reap), drops_ns, thread: Some(thread) })
    }

    fn reap(&self, store: Store<RunState>) {
        let mut batch = self.batch.lock().unwrap();
        batch.push(store);
        if batch.len() >= REAP_BATCH {
            let full = std::mem::replace(&mut *batch, Vec::with_capacity(REAP_BATCH));
            self.send(full);
        }
    }

    fn send(&self, batch: Vec<Store<RunState>>) {
        match &self.to_reap {
            Some(tx) => {
                if let Err(std::sync::mpsc::SendError(batch)) = tx.send(batch) {
                    drop(batch);
                }
            }
            None => drop(batch),
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Every store goes back before the engine and its pool go away.
        let rest = std::mem::take(&mut *self.batch.lock().unwrap());
        self.send(rest);
        drop(self.to_reap.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
    /// Classifying the trap, and dropping the error that carried it.
    pub classify_ns: u64,
    /// Handing the faulted store to the reaper (which drops it: the
    /// instance goes back to the pool, its memory and tables reset), or
    /// dropping it here with [`TrapCycle::with_inline_drop`].
    pub hand_over_ns: u64,
}

impl TrapCycle {
    pub fn new(spec: EngineSpec, source: &ModuleSource, export: &str, arg: i64, limits: &Limits, cache: &ModuleCache) -> anyhow::Result<TrapCycle> {
        let mut set = EngineSet::new(spec)?;
        let pre = set.instance_pre(source, cache)?;
        let engine = set.engine.clone();
        let ticker = EpochTicker::start(engine.clone(), Duration::from_millis(limits.timeout_ms));
        let reaper = Some(Reaper::start()?);
        Ok(TrapCycle { engine, pre, export: export.to_string(), arg, memory_bytes: limits.memory_bytes(), reaper, _ticker: ticker })
    }

    /// Drops each store inside the cycle instead: for `soak`, whose memory
    /// readings must not depend on how many dead stores wait for a reaper.
    pub fn with_inline_drop(mut self) -> TrapCycle {
        self.reaper = None;
        self
    }

    /// How long each drop on the reaper thread took so far, ns; taken out.
    pub fn take_drop_times(&self) -> Vec<u64> {
        match &self.reaper {
            Some(r) => r.drops_ns.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// One cycle. Returns how the call ended (facts: `classify` decides
    /// the class) and where the time went.
    pub fn once(&self) -> anyhow::Result<(CycleTrap, CycleTimes)> {
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
        let state = store.data();
        let ending = CycleTrap {
            trap: match &result {
                Ok(_) => None,
                Err(e) => Some(trap_of(e)),
            },
            guest_panic: state.guest_panic.is_some(),
            refused_growth: !state.limiter.refused.is_empty(),
        };
        drop(result);
        let t3 = Instant::now();
        match &self.reaper {
            Some(reaper) => reaper.reap(store),
            None => drop(store),
        }
        let t4 = Instant::now();
        let ns = |a: Instant, b: Instant| (b - a).as_nanos() as u64;
        Ok((ending, CycleTimes { instantiate_ns: ns(t0, t1), trap_ns: ns(t1, t2), classify_ns: ns(t2, t3), hand_over_ns: ns(t3, t4) }))
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
