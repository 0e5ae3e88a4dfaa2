//! wasmi as a faultbox backend: a pure-Rust interpreter, one
//! [`Backend`] for the registry's `wasmi` row.
//!
//! Every run gets a fresh store and instance of a module compiled once per
//! engine ([`engine`]); a CPU budget is enforced through fuel in slices
//! ([`budget`]), memory by the store's limiter ([`imports`]); wasmi's
//! errors become faultbox's observations through one table ([`traps`]);
//! WASI preview 1 is [`wasi`].

mod budget;
mod engine;
mod imports;
mod traps;
mod wasi;

pub use budget::SLICE_FUEL;
pub use imports::Limiter;
pub use traps::{trap_code, trap_of};
pub use engine::{FRAME_BYTES, WasmiSpec, stack_limits};

use super::backend::{
    Backend, COMMAND_START, Called, Entry, GuestReports, HEALTH_EXPORT, INIT_EXPORT, Instance, Instantiated, REACTOR_INIT,
    STACK_POINTER, StateView, health_failure, panic_message,
};
use super::module_bytes;
use crate::limits::Deadline;
use crate::model::EngineConfig;
use crate::protocol::{HealthCheck, ModuleSource, WasmEnding, WasmRequest};
use budget::Budget;
use faultbox_guests::host::HostOp;
use imports::{Host, RunState};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;
use wasmi::{Engine, Extern, Linker, Module, Store, TypedFunc, Val};

/// A module compiled for one engine and the linker it instantiates with.
struct Prepared {
    module: Module,
    linker: Linker<RunState>,
}

/// One engine and everything compiled for it.
struct EngineSet {
    engine: Engine,
    /// `fb` only.
    plain: Host,
    /// `fb` and WASI preview 1, for `WasmRequest::wasi` modules.
    wasi: Host,
    prepared: HashMap<(ModuleSource, bool), Prepared>,
}

impl EngineSet {
    fn new(spec: WasmiSpec) -> anyhow::Result<EngineSet> {
        let engine = spec.build()?;
        let mut plain = Host::new(&engine);
        imports::define(&mut plain)?;
        let mut wasi = plain.clone();
        wasi::define(&mut wasi)?;
        Ok(EngineSet { engine, plain, wasi, prepared: HashMap::new() })
    }

    /// The compiled module and its linker for `source`, compiling it on
    /// first use. `Ok(Err(why))`: wasmi refused the module (it does not
    /// validate, or an import cannot be linked).
    fn prepared(&mut self, source: &ModuleSource, with_wasi: bool) -> anyhow::Result<Result<&Prepared, String>> {
        let key = (source.clone(), with_wasi);
        if !self.prepared.contains_key(&key) {
            // An unreadable module file is the module's doing too, as for
            // wasmtime's backend.
            let bytes = match module_bytes(source) {
                Ok(bytes) => bytes,
                Err(e) => return Ok(Err(format!("{e:#}"))),
            };
            let module = match Module::new(&self.engine, &bytes) {
                Ok(module) => module,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let mut host = if with_wasi { self.wasi.clone() } else { self.plain.clone() };
            if with_wasi {
                wasi::link_unimplemented(&mut host, &module)?;
            }
            if let Err(why) = host.check(&module) {
                return Ok(Err(why));
            }
            self.prepared.insert(key.clone(), Prepared { module, linker: host.linker });
        }
        Ok(Ok(&self.prepared[&key]))
    }
}

/// wasmi's backend; lives in a wasm worker process.
pub struct Wasmi {
    config: EngineConfig,
    announce: fn(HostOp),
    engines: HashMap<WasmiSpec, EngineSet>,
}

impl Wasmi {
    /// `announce` is called before host code that may kill the process runs.
    pub fn new(config: EngineConfig, announce: fn(HostOp)) -> Wasmi {
        Wasmi { config, announce, engines: HashMap::new() }
    }

    fn engine_set(&mut self, req: &WasmRequest) -> anyhow::Result<&mut EngineSet> {
        if req.model != self.config {
            anyhow::bail!("a {} worker was asked to run {}", self.config, req.model);
        }
        let spec = WasmiSpec::new(req.model, req.limits.wasm_stack_kib);
        if !self.engines.contains_key(&spec) {
            self.engines.insert(spec, EngineSet::new(spec)?);
        }
        Ok(self.engines.get_mut(&spec).expect("inserted above"))
    }
}

impl Backend for Wasmi {
    type Instance = WasmiInstance;

    fn prepare(&mut self, req: &WasmRequest) -> anyhow::Result<Result<(), String>> {
        Ok(self.engine_set(req)?.prepared(&req.module, req.wasi)?.map(|_| ()))
    }

    fn instantiate(&mut self, req: &WasmRequest) -> anyhow::Result<Instantiated<WasmiInstance>> {
        let announce = self.announce;
        let set = self.engine_set(req)?;
        let engine = set.engine.clone();
        let prepared = set.prepared(&req.module, req.wasi)?.map_err(|why| anyhow::anyhow!("wasmi refused the module: {why}"))?;
        let mut store = Store::new(&engine, wasi::run_state(req.limits.memory_bytes(), announce, req.wasi, &req.args));
        store.limiter(|s| &mut s.limiter);
        // Instantiation (the start function), `_initialize` and `fb_init`
        // share one budget, as they share wasmtime's one watchdog arming.
        let budget = Budget::start(Duration::from_millis(req.limits.timeout_ms));
        store.data_mut().budget = Some(budget);
        let _ = store.set_fuel(budget.whole_fuel());
        let made = catch_unwind(AssertUnwindSafe(|| prepared.linker.instantiate_and_start(&mut store, &prepared.module)));
        let failed = |ending: WasmEnding, deadline: Option<Deadline>, store: &mut Store<RunState>| {
            let called = Called { ending, fault_detail: None, deadline, wall_us: budget.wall_us(), cpu_us: budget.cpu_us() };
            Instantiated::Failed { called, reports: reports(store.data()) }
        };
        let instance = match made {
            Ok(Ok(instance)) => instance,
            Ok(Err(err)) => {
                let ending = traps::ending(&err);
                // The start function cannot be resumed: it ran on the fuel
                // that stands for the whole budget (and its host calls
                // against the budget itself). A deadline is reported only
                // when the clock says one passed: fuel that ran out first
                // is a fuel limit, still a timeout, but not the CPU budget.
                let deadline = traps::deadline_of(&err).or_else(|| {
                    matches!(ending, WasmEnding::Trapped { trap: crate::outcome::TrapCode::OutOfFuel, .. }).then(|| budget.ran_out()).flatten()
                });
                return Ok(failed(ending, deadline, &mut store));
            }
            Err(panic) => return Ok(failed(WasmEnding::HostPanic { message: panic_message(&*panic) }, None, &mut store)),
        };
        for init in [REACTOR_INIT, INIT_EXPORT] {
            if let Ok(func) = instance.get_typed_func::<(), ()>(&store, init) {
                if let (Err(ending), deadline) = budget::call(&mut store, &func, (), &budget) {
                    return Ok(failed(ending, deadline, &mut store));
                }
            }
        }
        Ok(Instantiated::Ready(WasmiInstance { store, instance, func: None, start: None }, budget.wall_us()))
    }
}

/// One wasmi instance with its store.
pub struct WasmiInstance {
    store: Store<RunState>,
    instance: wasmi::Instance,
    func: Option<TypedFunc<i64, i64>>,
    start: Option<TypedFunc<(), ()>>,
}

impl Instance for WasmiInstance {
    fn check_entry(&mut self, entry: &Entry) -> anyhow::Result<()> {
        match entry {
            Entry::Command => {
                self.start = Some(self.instance.get_typed_func::<(), ()>(&self.store, COMMAND_START).map_err(|e| anyhow::anyhow!("{e}"))?);
            }
            Entry::Scenario(export) => {
                self.func = Some(self.instance.get_typed_func::<i64, i64>(&self.store, export).map_err(|e| anyhow::anyhow!("{e}"))?);
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
        let budget = Budget::start(budget);
        let (ending, deadline) = match (entry, &self.func, &self.start) {
            (Entry::Scenario(_), Some(func), _) => match budget::call(&mut self.store, func, arg, &budget) {
                (Ok(value), deadline) => (WasmEnding::Completed { value }, deadline),
                (Err(ending), deadline) => (ending, deadline),
            },
            // A command that returns from `_start` exits with 0 (WASI).
            (Entry::Command, _, Some(start)) => match budget::call(&mut self.store, start, (), &budget) {
                (Ok(()), deadline) => (WasmEnding::Exited { code: 0 }, deadline),
                (Err(ending), deadline) => (ending, deadline),
            },
            _ => unreachable!("check_entry resolved it"),
        };
        Called { ending, fault_detail: None, deadline, wall_us: budget.wall_us(), cpu_us: budget.cpu_us() }
    }

    fn health(&mut self, budget: Duration) -> HealthCheck {
        let health = match self.instance.get_typed_func::<(), i64>(&self.store, HEALTH_EXPORT) {
            Ok(health) => health,
            // There, but not `() -> i64`: not the same as having none.
            Err(e) if self.instance.get_export(&self.store, HEALTH_EXPORT).is_some() => {
                return HealthCheck::Failed(format!("{HEALTH_EXPORT} cannot be called as () -> i64: {e}"));
            }
            Err(_) => return HealthCheck::Missing,
        };
        match budget::call(&mut self.store, &health, (), &Budget::start(budget)) {
            (Ok(v), _) => HealthCheck::Returned(v),
            (Err(ending), _) => health_failure(&ending),
        }
    }

    fn state(&mut self) -> StateView<'_> {
        let store = &self.store;
        let globals: Vec<(String, String)> = self
            .instance
            .exports(store)
            .filter_map(|e| {
                let name = e.name().to_string();
                match e.into_extern() {
                    Extern::Global(g) => Some((name, show(&g.get(store)))),
                    _ => None,
                }
            })
            .collect();
        let stack_pointer = match self.instance.get_global(store, STACK_POINTER).map(|g| g.get(store)) {
            Some(Val::I32(x)) => Some(x as u32),
            _ => None,
        };
        let memory = self.instance.get_memory(store, "memory").map(|m| m.data(store));
        StateView { stack_pointer, globals, memory }
    }

    fn reports(&mut self) -> GuestReports {
        reports(self.store.data())
    }
}

/// A global's value as text, formatted as wasmtime's backend formats it.
fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("{:#x}", *x as u32),
        Val::I64(x) => format!("{:#x}", *x as u64),
        Val::F32(x) => format!("{}", f32::from(*x)),
        Val::F64(x) => format!("{}", f64::from(*x)),
        other => format!("{other:?}"),
    }
}

fn reports(state: &RunState) -> GuestReports {
    GuestReports {
        progress: state.progress,
        guest_panic: state.guest_panic.clone(),
        refused_growth: state.limiter.refused.clone(),
        host_call: state.host_call.map(|op| crate::host_ops::op_name(op).to_string()),
        output: wasi::output_tail(state),
        stderr: wasi::stderr_tail(state),
    }
}

#[cfg(test)]
mod tests;
