//! The wasm execution model: wasmtime embedded in a worker process.
//!
//! Every run gets a fresh instance (pooled, copy-on-write), calls the
//! scenario export under a CPU-time budget (the epoch watchdog) and a store
//! memory limit, and
//! records what came back: a value, a trap code with its backtrace, a host
//! error or a host panic. Then it checks whether the *same* instance is
//! still sound, and how long a fresh one takes.

pub mod cycle;
mod engine;
mod imports;
mod modules;
pub mod random;
mod reuse;
mod trap;
mod watchdog;
pub mod wat;
pub mod wasi;

pub use engine::{Allocation, BACKTRACE_FRAMES, EngineSpec, PROFILE_ENV, WasmProfile, engine_refusal, profile_table};
pub use watchdog::Watchdog;
use crate::process::thread_cpu_time;
pub use imports::RunState;
pub use modules::ModuleCache;
pub use trap::{trap_code, trap_of};

use crate::protocol::{HealthCheck, ModuleSource, WasmEnding, WasmObservation, WasmRequest};
use faultbox_guests::host::HostOp;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use wasmtime::{Engine, Instance, InstancePre, Linker, Store};

/// The guest crate compiled to wasm32 by the build script.
pub static GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guests.wasm"));

/// The export every guest offers for the health check: `() -> i64`.
pub const HEALTH_EXPORT: &str = "fb_health";
/// Optional `() -> ()` export the worker calls once after instantiation.
pub const INIT_EXPORT: &str = "fb_init";

/// One engine and everything compiled for it.
pub struct EngineSet {
    pub engine: Engine,
    linker: Linker<RunState>,
    /// `fb` and WASI preview 1, for `WasmRequest::wasi` modules.
    wasi_linker: Linker<RunState>,
    pres: HashMap<ModuleSource, InstancePre<RunState>>,
    /// The same for modules linked through `wasi_linker`.
    wasi_pres: HashMap<ModuleSource, InstancePre<RunState>>,
}

impl EngineSet {
    pub fn new(spec: EngineSpec) -> anyhow::Result<EngineSet> {
        let engine = spec.build()?;
        let mut linker = Linker::new(&engine);
        imports::define(&mut linker).map_err(anyhow::Error::from)?;
        let wasi_linker = wasi::linker(&engine).map_err(anyhow::Error::from)?;
        Ok(EngineSet { engine, linker, wasi_linker, pres: HashMap::new(), wasi_pres: HashMap::new() })
    }

    /// The instantiation recipe for `source`, compiling it on first use.
    pub fn instance_pre(&mut self, source: &ModuleSource, cache: &ModuleCache) -> anyhow::Result<InstancePre<RunState>> {
        self.instance_pre_for(source, false, cache)
    }

    /// The same, linked with WASI preview 1 too when `wasi`.
    pub fn instance_pre_for(&mut self, source: &ModuleSource, wasi: bool, cache: &ModuleCache) -> anyhow::Result<InstancePre<RunState>> {
        let (linker, pres) = if wasi { (&self.wasi_linker, &mut self.wasi_pres) } else { (&self.linker, &mut self.pres) };
        if let Some(pre) = pres.get(source) {
            return Ok(pre.clone());
        }
        let module = cache.load(&self.engine, &module_bytes(source)?)?;
        let pre = linker.instantiate_pre(&module).map_err(anyhow::Error::from)?;
        pres.insert(source.clone(), pre.clone());
        Ok(pre)
    }
}

/// The binary module for `source`.
pub fn module_bytes(source: &ModuleSource) -> anyhow::Result<Vec<u8>> {
    Ok(match source {
        ModuleSource::Bytes(bytes) => bytes.clone(),
        ModuleSource::File(path) => {
            std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read wasm module {}: {e}", path.display()))?
        }
    })
}

/// Runs wasm scenarios; lives in a wasm worker process.
pub struct WasmRunner {
    engines: HashMap<EngineSpec, EngineSet>,
    watchdog: Watchdog,
    cache: ModuleCache,
    announce: fn(HostOp),
}

impl WasmRunner {
    /// `announce` is called before host code that may kill the process runs.
    pub fn new(announce: fn(HostOp)) -> WasmRunner {
        WasmRunner { engines: HashMap::new(), watchdog: Watchdog::new(), cache: ModuleCache::from_env(), announce }
    }

    pub fn engine_set(&mut self, spec: EngineSpec) -> anyhow::Result<&mut EngineSet> {
        if !self.engines.contains_key(&spec) {
            self.engines.insert(spec, EngineSet::new(spec)?);
        }
        Ok(self.engines.get_mut(&spec).unwrap())
    }

    pub fn cache(&self) -> &ModuleCache {
        &self.cache
    }

    pub fn watchdog(&self) -> &Watchdog {
        &self.watchdog
    }

    /// Compiles the request's module for its engine (or finds it compiled),
    /// so that `run` spends its deadline on the guest only. `Ok(Some(why))`:
    /// the engine refused the module (the guest's doing, e.g. more than a
    /// pool slot holds); `Err`: the worker could not set up at all.
    pub fn prepare(&mut self, req: &WasmRequest) -> anyhow::Result<Option<String>> {
        let spec = EngineSpec::new(req.model, req.limits.wasm_stack_kib);
        let cache = self.cache.clone();
        let set = self.engine_set(spec)?;
        Ok(set.instance_pre_for(&req.module, req.wasi, &cache).err().map(|e| format!("{e:#}")))
    }

    /// Runs one scenario. `Err` means the worker could not set the run up.
    pub fn run(&mut self, req: &WasmRequest) -> anyhow::Result<WasmObservation> {
        let spec = EngineSpec::new(req.model, req.limits.wasm_stack_kib);
        let announce = self.announce;
        let cache = self.cache.clone();
        let (pre, engine) = {
            let set = self.engine_set(spec)?;
            (set.instance_pre_for(&req.module, req.wasi, &cache)?, set.engine.clone())
        };
        let watchdog = &self.watchdog;
        let timeout = Duration::from_millis(req.limits.timeout_ms);
        let memory = req.limits.memory_bytes();

        let new_store = || {
            let mut store = Store::new(&engine, wasi::run_state(memory, announce, req.wasi, &req.args));
            store.limiter(|s| &mut s.limiter);
            store.set_epoch_deadline(1);
            store
        };

        let mut store = new_store();
        let started = Instant::now();
        watchdog.arm(&engine, timeout);
        let instance = catch_unwind(AssertUnwindSafe(|| instantiate(&pre, &mut store)));
        let deadline = watchdog.disarm();
        let instantiate_us = started.elapsed().as_micros() as u64;
        let instance = match instance {
            Ok(Ok(instance)) => instance,
            Ok(Err(err)) => {
                let mut obs = observation(store, trap::ending(&err), trap::fault_detail(&err), instantiate_us);
                obs.deadline = deadline;
                return Ok(obs);
            }
            Err(panic) => {
                let ending = WasmEnding::HostPanic { message: panic_message(&*panic) };
                return Ok(observation(store, ending, None, instantiate_us));
            }
        };
        // A WASI command's `_start` takes and returns nothing; every other
        // export is a scenario, `(i64) -> i64`.
        let (func, start) = if req.export == wasi::COMMAND_START {
            let start = instance
                .get_typed_func::<(), ()>(&mut store, &req.export)
                .map_err(|e| anyhow::anyhow!("export `{}`: {e}", req.export))?;
            (None, Some(start))
        } else {
            let func = instance
                .get_typed_func::<i64, i64>(&mut store, &req.export)
                .map_err(|e| anyhow::anyhow!("export `{}`: {e}", req.export))?;
            (Some(func), None)
        };

        let before = req.check_reuse.then(|| reuse::snapshot(&mut store, &instance));
        store.set_epoch_deadline(1);
        watchdog.arm(&engine, timeout);
        let call_started = Instant::now();
        let cpu_started = thread_cpu_time();
        let result = catch_unwind(AssertUnwindSafe(|| match (&func, &start) {
            (Some(func), _) => func.call(&mut store, req.arg).map(Some),
            (None, Some(start)) => start.call(&mut store, ()).map(|()| None),
            (None, None) => unreachable!("one of the two was found"),
        }));
        let call_cpu_us = thread_cpu_time().saturating_sub(cpu_started).as_micros() as u64;
        let call_us = call_started.elapsed().as_micros() as u64;
        let deadline = watchdog.disarm();

        let (ending, fault_detail) = match result {
            Ok(Ok(Some(value))) => (WasmEnding::Completed { value }, None),
            // A command that returns from `_start` exits with 0 (WASI).
            Ok(Ok(None)) => (WasmEnding::Exited { code: 0 }, None),
            Ok(Err(err)) => (trap::ending(&err), trap::fault_detail(&err)),
            Err(panic) => (WasmEnding::HostPanic { message: panic_message(&*panic) }, None),
        };
        // An exception that reached the host stays rooted in the store's
        // pending slot; the reuse check must see the instance as a host
        // that handled it would leave it, not with a stale exception.
        if matches!(ending, WasmEnding::Trapped { trap: crate::outcome::TrapCode::UncaughtException, .. }) {
            let _ = store.take_pending_exception();
        }

        let mut obs = observation_parts(&mut store, ending, fault_detail, instantiate_us, call_us);
        obs.call_cpu_us = Some(call_cpu_us);
        obs.deadline = deadline;
        if let Some(before) = before {
            let mut facts = reuse::compare(&mut store, &instance, &before);
            let t = Instant::now();
            facts.health = health_check(&mut store, &instance, watchdog, &engine, timeout);
            obs.health_us = Some(t.elapsed().as_micros() as u64);
            // Only a call that did not return is repeated: a trap or an
            // exit unwinds the wasm frames without the runtime's knowledge,
            // while a normal return (a recovered panic included) ran every
            // deferred call on the way out.
            let unwound = !matches!(obs.ending, WasmEnding::Completed { .. });
            if let (Some(func), true) = (&func, req.reuse_rounds > 0 && unwound && facts.health == HealthCheck::Returned(faultbox_guests::HEALTH_OK)) {
                let (healthy, broke) = wasi::reuse_rounds(&mut store, &instance, func, req.arg, req.reuse_rounds, watchdog, &engine, timeout);
                (facts.rounds_healthy, facts.rounds_broke) = (Some(healthy), broke);
            }
            obs.reuse = Some(facts);

            // What a plugin host that discards the instance would pay instead.
            let t = Instant::now();
            let mut fresh = new_store();
            watchdog.arm(&engine, timeout);
            let made = instantiate(&pre, &mut fresh);
            watchdog.disarm();
            if let Ok(instance) = made {
                health_check(&mut fresh, &instance, watchdog, &engine, timeout);
                obs.fresh_context_us = Some(t.elapsed().as_micros() as u64);
            }
        }
        Ok(obs)
    }
}

/// Instantiates, runs a reactor's `_initialize` and then the guest's
/// `fb_init`, each if the module has it. The caller
/// has set the epoch deadline.
pub fn instantiate(pre: &InstancePre<RunState>, store: &mut Store<RunState>) -> wasmtime::Result<Instance> {
    let instance = pre.instantiate(&mut *store)?;
    wasi::initialize(&mut *store, &instance)?;
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, INIT_EXPORT) {
        init.call(&mut *store, ())?;
    }
    Ok(instance)
}

/// Calls `fb_health` on `instance` under a fresh deadline.
pub fn health_check(
    store: &mut Store<RunState>,
    instance: &Instance,
    watchdog: &Watchdog,
    engine: &Engine,
    timeout: Duration,
) -> HealthCheck {
    let health = match instance.get_typed_func::<(), i64>(&mut *store, HEALTH_EXPORT) {
        Ok(health) => health,
        // There, but not `() -> i64`: not the same as having none.
        Err(e) if instance.get_export(&mut *store, HEALTH_EXPORT).is_some() => {
            return HealthCheck::Failed(format!("{HEALTH_EXPORT} cannot be called as () -> i64: {e}"));
        }
        Err(_) => return HealthCheck::Missing,
    };
    store.set_epoch_deadline(1);
    watchdog.arm(engine, timeout);
    let result = catch_unwind(AssertUnwindSafe(|| health.call(&mut *store, ())));
    watchdog.disarm();
    match result {
        Ok(Ok(v)) => HealthCheck::Returned(v),
        Ok(Err(err)) => HealthCheck::Failed(match trap::ending(&err) {
            WasmEnding::Trapped { trap, .. } => format!("trapped: {trap}"),
            WasmEnding::HostError { message } | WasmEnding::Failed { message } => message,
            WasmEnding::Exited { code } => format!("proc_exit({code})"),
            other => format!("{other:?}"),
        }),
        Err(panic) => HealthCheck::Failed(format!("host panic: {}", panic_message(&*panic))),
    }
}

fn observation_parts(
    store: &mut Store<RunState>,
    ending: WasmEnding,
    fault_detail: Option<String>,
    instantiate_us: u64,
    call_us: u64,
) -> WasmObservation {
    let state = store.data_mut();
    WasmObservation {
        ending,
        progress: state.progress,
        guest_panic: state.guest_panic.clone(),
        refused_growth: state.limiter.refused.clone(),
        host_call: state.host_call.map(|op| crate::host_ops::op_name(op).to_string()),
        fault_detail,
        reuse: None,
        deadline: None,
        instantiate_us,
        call_us,
        call_cpu_us: None,
        health_us: None,
        fresh_context_us: None,
        output: wasi::output_tail(state),
        stderr: wasi::stderr_tail(state),
    }
}

fn observation(
    mut store: Store<RunState>,
    ending: WasmEnding,
    fault_detail: Option<String>,
    instantiate_us: u64,
) -> WasmObservation {
    observation_parts(&mut store, ending, fault_detail, instantiate_us, 0)
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
