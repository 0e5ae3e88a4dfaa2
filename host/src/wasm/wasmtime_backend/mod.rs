//! wasmtime as a faultbox backend: its three configurations (Cranelift
//! with signals-based traps, Cranelift with explicit checks, Pulley) are
//! one implementation of [`Backend`], told apart by [`EngineSpec`].
//!
//! Every run gets a fresh instance (pooled, copy-on-write); a CPU budget is
//! enforced by the [`Watchdog`], which bumps the engine's epoch; memory by
//! the store's limiter. wasmtime's errors become faultbox's observations
//! through one table ([`trap`]).

pub mod cycle;
mod engine;
mod imports;
mod modules;
pub mod random;
mod trap;
pub mod wasi;

pub use engine::{Allocation, BACKTRACE_FRAMES, EngineSpec, engine_refusal};
pub use imports::RunState;
pub use modules::ModuleCache;
pub use trap::{trap_code, trap_of};

use super::backend::{
    Backend, Called, Entry, GuestReports, HEALTH_EXPORT, INIT_EXPORT, Instance as BackendInstance, Instantiated, StateView,
    health_failure, panic_message,
};
use super::{Interruptible, Watchdog, module_bytes};
use crate::process::thread_cpu_time;
use crate::protocol::{HealthCheck, ModuleSource, WasmEnding, WasmRequest};
use crate::outcome::TrapCode;
use faultbox_guests::host::HostOp;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use wasmtime::{Engine, Extern, Instance, InstancePre, Linker, Store, TypedFunc, Val};

impl Interruptible for Engine {
    fn interrupt(&self) {
        self.increment_epoch();
    }
}

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

/// wasmtime's backend; lives in a wasm worker process.
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

    fn recipe(&mut self, req: &WasmRequest) -> anyhow::Result<(InstancePre<RunState>, Engine)> {
        let spec = EngineSpec::new(req.model, req.limits.wasm_stack_kib);
        let cache = self.cache.clone();
        let set = self.engine_set(spec)?;
        Ok((set.instance_pre_for(&req.module, req.wasi, &cache)?, set.engine.clone()))
    }
}

impl Backend for WasmRunner {
    type Instance = WasmtimeInstance;

    fn prepare(&mut self, req: &WasmRequest) -> anyhow::Result<Result<(), String>> {
        let spec = EngineSpec::new(req.model, req.limits.wasm_stack_kib);
        let cache = self.cache.clone();
        let set = self.engine_set(spec)?;
        Ok(set.instance_pre_for(&req.module, req.wasi, &cache).map(|_| ()).map_err(|e| format!("{e:#}")))
    }

    fn instantiate(&mut self, req: &WasmRequest) -> anyhow::Result<Instantiated<WasmtimeInstance>> {
        let (pre, engine) = self.recipe(req)?;
        let mut store = Store::new(&engine, wasi::run_state(req.limits.memory_bytes(), self.announce, req.wasi, &req.args));
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        let budget = Duration::from_millis(req.limits.timeout_ms);
        let started = Instant::now();
        let cpu_started = thread_cpu_time();
        self.watchdog.arm(&engine, budget);
        let made = catch_unwind(AssertUnwindSafe(|| instantiate(&pre, &mut store)));
        let deadline = self.watchdog.disarm();
        let us = started.elapsed().as_micros() as u64;
        let failed = |ending: WasmEnding, fault_detail: Option<String>, mut store: Store<RunState>| {
            let called = Called { ending, fault_detail, deadline, wall_us: us, cpu_us: thread_cpu_time().saturating_sub(cpu_started).as_micros() as u64 };
            Instantiated::Failed { called, reports: reports(&mut store) }
        };
        Ok(match made {
            Ok(Ok(instance)) => {
                Instantiated::Ready(WasmtimeInstance { store, instance, engine, watchdog: self.watchdog.clone(), func: None, start: None }, us)
            }
            Ok(Err(err)) => failed(trap::ending(&err), trap::fault_detail(&err), store),
            Err(panic) => failed(WasmEnding::HostPanic { message: panic_message(&*panic) }, None, store),
        })
    }
}

/// One wasmtime instance with its store.
pub struct WasmtimeInstance {
    store: Store<RunState>,
    instance: Instance,
    engine: Engine,
    watchdog: Watchdog,
    func: Option<TypedFunc<i64, i64>>,
    start: Option<TypedFunc<(), ()>>,
}

impl BackendInstance for WasmtimeInstance {
    fn check_entry(&mut self, entry: &Entry) -> anyhow::Result<()> {
        match entry {
            Entry::Command => {
                self.start = Some(self.instance.get_typed_func::<(), ()>(&mut self.store, super::COMMAND_START).map_err(anyhow::Error::from)?);
            }
            Entry::Scenario(export) => {
                self.func = Some(self.instance.get_typed_func::<i64, i64>(&mut self.store, export).map_err(anyhow::Error::from)?);
            }
        }
        Ok(())
    }

    fn call(&mut self, entry: &Entry, arg: i64, budget: Duration) -> Called {
        let resolved = match entry {
            Entry::Scenario(_) => self.func.is_some(),
            Entry::Command => self.start.is_some(),
        };
        if !resolved {
            return super::backend::unresolved(entry);
        }
        let store = &mut self.store;
        store.set_epoch_deadline(1);
        self.watchdog.arm(&self.engine, budget);
        let started = Instant::now();
        let cpu_started = thread_cpu_time();
        let result = catch_unwind(AssertUnwindSafe(|| match (entry, &self.func, &self.start) {
            (Entry::Scenario(_), Some(func), _) => func.call(&mut *store, arg).map(Some),
            (Entry::Command, _, Some(start)) => start.call(&mut *store, ()).map(|()| None),
            _ => unreachable!("check_entry found it"),
        }));
        let cpu_us = thread_cpu_time().saturating_sub(cpu_started).as_micros() as u64;
        let wall_us = started.elapsed().as_micros() as u64;
        let deadline = self.watchdog.disarm();
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
        if matches!(ending, WasmEnding::Trapped { trap: TrapCode::UncaughtException, .. }) {
            let _ = self.store.take_pending_exception();
        }
        Called { ending, fault_detail, deadline, wall_us, cpu_us }
    }

    fn health(&mut self, budget: Duration) -> HealthCheck {
        health_check(&mut self.store, &self.instance, &self.watchdog, &self.engine, budget)
    }

    fn state(&mut self) -> StateView<'_> {
        let store = &mut self.store;
        let exports: Vec<(String, Extern)> =
            self.instance.exports(&mut *store).map(|e| (e.name().to_string(), e.into_extern())).collect();
        let globals: Vec<(String, String)> = exports
            .into_iter()
            .filter_map(|(name, ext)| match ext {
                Extern::Global(g) => Some((name, show(&g.get(&mut *store)))),
                _ => None,
            })
            .collect();
        let stack_pointer = match self.instance.get_global(&mut *store, super::backend::STACK_POINTER).map(|g| g.get(&mut *store)) {
            Some(Val::I32(x)) => Some(x as u32),
            _ => None,
        };
        let memory = self.instance.get_memory(&mut *store, "memory").map(|m| m.data(&*store));
        StateView { stack_pointer, globals, memory }
    }

    fn reports(&mut self) -> GuestReports {
        reports(&mut self.store)
    }
}

fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("{:#x}", *x as u32),
        Val::I64(x) => format!("{:#x}", *x as u64),
        Val::F32(x) => format!("{}", f32::from_bits(*x)),
        Val::F64(x) => format!("{}", f64::from_bits(*x)),
        other => format!("{other:?}"),
    }
}

fn reports(store: &mut Store<RunState>) -> GuestReports {
    let state = store.data_mut();
    GuestReports {
        progress: state.progress,
        guest_panic: state.guest_panic.clone(),
        refused_growth: state.limiter.refused.clone(),
        host_call: state.host_call.map(|op| crate::host_ops::op_name(op).to_string()),
        output: wasi::output_tail(state),
        stderr: wasi::stderr_tail(state),
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
        Ok(Err(err)) => health_failure(&trap::ending(&err)),
        Err(panic) => HealthCheck::Failed(format!("host panic: {}", panic_message(&*panic))),
    }
}

