//! Spec scripts in wasmtime: the engine of a wasm model with the process's
//! feature profile, every call and instantiation under the epoch watchdog.

use super::cap::StoreCap;
use super::values::{AnyRef as AnyValue, Hierarchy, Value};
use super::{Failure, Missing, SpecEngine, Verdict, one_line, script::Beyond};
use crate::model::EngineConfig;
use crate::protocol::{Observed, WastObservation, WastRequest};
use crate::wasm::{EngineSpec, Watchdog, WasmProfile, trap_of};
use std::time::Duration;
use wasmtime::{
    AnyRef, Engine, ExternRef, Global, GlobalType, Instance, Linker, Memory, MemoryType, Module, Mutability, Ref,
    RefType, Store, Table, TableType, Val, ValType,
};

/// The engine for spec scripts: the model's engine with the process's
/// feature profile ([`WasmProfile`]), so that a module from a proposal the
/// profile leaves out is reported as skipped instead of half-supported.
/// Spec modules declare tables and memories of any size: allocated on
/// demand, not from a pool.
pub fn engine(model: EngineConfig) -> anyhow::Result<Engine> {
    EngineSpec { allocation: crate::wasm::Allocation::OnDemand, ..EngineSpec::new(model, 512) }.build()
}

/// Runs one script in `engine` and reports every directive.
pub fn run(engine: &Engine, watchdog: &Watchdog, req: &WastRequest) -> anyhow::Result<WastObservation> {
    // Every memory and table of the script, `spectest`'s included, is
    // counted against one cap (`cap`).
    let mut store = Store::new(engine, StoreCap::default());
    store.limiter(|cap| cap);
    store.set_epoch_deadline(1);
    let mut linker = Linker::new(engine);
    linker.allow_shadowing(true);
    define_spectest(&mut linker, &mut store)?;
    let wasmtime = Wasmtime { engine, watchdog, timeout: Duration::from_millis(req.timeout_ms), store, linker };
    super::run_in(wasmtime, req)
}

struct Wasmtime<'e> {
    engine: &'e Engine,
    watchdog: &'e Watchdog,
    timeout: Duration,
    store: Store<StoreCap>,
    linker: Linker<StoreCap>,
}

impl wasmtime::ResourceLimiter for StoreCap {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.memory(current, desired, maximum))
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.table(current, desired, maximum))
    }
}

/// The `spectest` module every spec script may import.
fn define_spectest(linker: &mut Linker<StoreCap>, store: &mut Store<StoreCap>) -> anyhow::Result<()> {
    let e = |r: wasmtime::Result<()>| r.map_err(anyhow::Error::from);
    e(linker.func_wrap("spectest", "print", || {}).map(|_| ()))?;
    e(linker.func_wrap("spectest", "print_i32", |_: i32| {}).map(|_| ()))?;
    e(linker.func_wrap("spectest", "print_i64", |_: i64| {}).map(|_| ()))?;
    e(linker.func_wrap("spectest", "print_f32", |_: f32| {}).map(|_| ()))?;
    e(linker.func_wrap("spectest", "print_f64", |_: f64| {}).map(|_| ()))?;
    e(linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {}).map(|_| ()))?;
    e(linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {}).map(|_| ()))?;
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, val) in globals {
        let g = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), val).map_err(anyhow::Error::from)?;
        e(linker.define(&mut *store, "spectest", name, g).map(|_| ()))?;
    }
    let table = Table::new(&mut *store, TableType::new(RefType::FUNCREF, 10, Some(20)), Ref::Func(None))
        .map_err(anyhow::Error::from)?;
    e(linker.define(&mut *store, "spectest", "table", table).map(|_| ()))?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2))).map_err(anyhow::Error::from)?;
    e(linker.define(&mut *store, "spectest", "memory", memory).map(|_| ()))?;
    Ok(())
}

/// Why a module does not compile, as a skip reason that names the profile.
fn not_compiled(e: &wasmtime::Error) -> String {
    format!(
        "the module does not compile with faultbox's Wasm {} feature set: {}",
        WasmProfile::current().name(),
        one_line(&format!("{e:#}"))
    )
}

/// Why a module the script gives as valid did not compile. Skipped only
/// when it is valid WebAssembly that needs a feature the engine does not
/// enable (it validates with every feature on); a module that does not
/// decode or validate at all is a failure, not a skip.
fn compile_failure(bytes: &[u8], e: &wasmtime::Error) -> Missing {
    match wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(bytes) {
        Ok(_) => Missing::Unavailable(not_compiled(e)),
        Err(v) => Missing::Broken(format!("the module does not decode or validate: {}", one_line(v.message()))),
    }
}

/// A wasmtime error as what the directive observed: a trap faultbox has a
/// code for, or a failure.
fn failure(err: &wasmtime::Error) -> Failure {
    match trap_of(err) {
        Some(trap) => Failure { trap: Some(trap), message: err.root_cause().to_string() },
        None => Failure { trap: None, message: one_line(&format!("{err:#}")) },
    }
}

impl Wasmtime<'_> {
    fn arm(&mut self) {
        self.store.set_epoch_deadline(1);
        self.watchdog.arm(self.engine, self.timeout);
    }

    /// A returned value, asked of the store while it is rooted.
    fn value(&mut self, v: &Val) -> Value {
        let store = &mut self.store;
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(b) => Value::F32(*b),
            Val::F64(b) => Value::F64(*b),
            Val::V128(x) => Value::V128(x.as_u128()),
            Val::FuncRef(None) => Value::Null(Hierarchy::Func),
            Val::FuncRef(Some(_)) => Value::Func,
            Val::ExternRef(None) => Value::Null(Hierarchy::Extern),
            Val::ExternRef(Some(x)) => Value::Extern(extern_number(store, x)),
            Val::AnyRef(None) => Value::Null(Hierarchy::Any),
            Val::AnyRef(Some(a)) => {
                let a = *a;
                Value::Any(if let Ok(Some(i)) = a.as_i31(&*store) {
                    AnyValue::I31(i.get_i32())
                } else if a.is_struct(&*store).unwrap_or(false) {
                    AnyValue::Struct
                } else if a.is_array(&*store).unwrap_or(false) {
                    AnyValue::Array
                } else {
                    AnyValue::Host(host_number(store, a))
                })
            }
            Val::ExnRef(None) => Value::Null(Hierarchy::Exn),
            Val::ExnRef(Some(_)) => Value::Exn,
            Val::ContRef(None) => Value::Null(Hierarchy::Cont),
            Val::ContRef(Some(_)) => Value::Cont,
        }
    }

    /// An argument as wasmtime's value.
    fn val(&mut self, v: &Value) -> Result<Val, String> {
        Ok(match v {
            Value::I32(x) => Val::I32(*x),
            Value::I64(x) => Val::I64(*x),
            Value::F32(b) => Val::F32(*b),
            Value::F64(b) => Val::F64(*b),
            Value::V128(x) => Val::V128((*x).into()),
            Value::Null(Hierarchy::Func) => Val::FuncRef(None),
            Value::Null(Hierarchy::Extern) => Val::ExternRef(None),
            Value::Null(Hierarchy::Any) => Val::AnyRef(None),
            Value::Null(Hierarchy::Exn) => Val::ExnRef(None),
            Value::Null(Hierarchy::Cont) => Val::ContRef(None),
            Value::Extern(Some(n)) => {
                let r = ExternRef::new(&mut self.store, *n).map_err(|e| format!("externref: {e}"))?;
                Val::ExternRef(Some(r))
            }
            Value::Any(AnyValue::Host(Some(n))) => {
                let r = ExternRef::new(&mut self.store, *n).map_err(|e| format!("hostref: {e}"))?;
                let r = AnyRef::convert_extern(&mut self.store, r).map_err(|e| format!("hostref: {e}"))?;
                Val::AnyRef(Some(r))
            }
            other => return Err(format!("{other:?} is not a value a script passes")),
        })
    }
}

/// The number an `externref` made by the script holds.
fn extern_number<T: 'static>(store: &Store<T>, x: &wasmtime::Rooted<ExternRef>) -> Option<u32> {
    x.data(store).ok().flatten().and_then(|d| d.downcast_ref::<u32>()).copied()
}

/// The number of a host reference: an `anyref` that is an internalized
/// `externref` the script made.
fn host_number<T: 'static>(store: &mut Store<T>, a: wasmtime::Rooted<AnyRef>) -> Option<u32> {
    let x = ExternRef::convert_any(&mut *store, a).ok()?;
    extern_number(store, &x)
}

impl SpecEngine for Wasmtime<'_> {
    type Module = Module;
    type Instance = Instance;

    fn beyond(&self, what: Beyond) -> &'static str {
        match what {
            Beyond::Threads => "shared-memory threads are not in faultbox's wasmtime build",
            Beyond::StackSwitching => "stack switching is not a Wasm 3.0 proposal and is not enabled",
            Beyond::Component => "the component model is not core WebAssembly and is not enabled",
            Beyond::CustomSection => "wasmtime does not interpret the contents of custom sections",
        }
    }

    fn compile(&mut self, bytes: &[u8]) -> Result<Module, Missing> {
        Module::new(self.engine, bytes).map_err(|e| compile_failure(bytes, &e))
    }

    fn judge(&mut self, bytes: &[u8]) -> Verdict {
        match Module::new(self.engine, bytes) {
            Ok(_) => Verdict::Accepted,
            Err(e) => Verdict::Rejected(one_line(&format!("{e:#}"))),
        }
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, Failure> {
        self.arm();
        let result = self.linker.instantiate(&mut self.store, module);
        self.watchdog.disarm();
        result.map_err(|e| failure(&e))
    }

    fn import_modules(&self, module: &Module) -> Vec<String> {
        module.imports().map(|i| i.module().to_string()).collect()
    }

    fn register(&mut self, name: &str, instance: &Instance) -> Result<(), String> {
        match self.linker.instance(&mut self.store, name, *instance) {
            Ok(_) => Ok(()),
            Err(e) => Err(one_line(&format!("{e:#}"))),
        }
    }

    fn call(&mut self, instance: &Instance, name: &str, args: &[Value]) -> Result<Vec<Value>, Observed> {
        let Some(func) = instance.get_func(&mut self.store, name) else {
            return Err(Observed::Failed { message: format!("no exported function `{name}`") });
        };
        let args = args.iter().map(|a| self.val(a)).collect::<Result<Vec<_>, _>>();
        let args = args.map_err(|reason| Observed::Skipped { reason })?;
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        self.arm();
        let outcome = func.call(&mut self.store, &args, &mut results);
        self.watchdog.disarm();
        match outcome {
            Ok(()) => Ok(results.iter().map(|v| self.value(v)).collect()),
            Err(e) => {
                // An uncaught exception stays rooted in the store until
                // taken; the script's next call must start clean.
                let _ = self.store.take_pending_exception();
                Err(failure(&e).observed())
            }
        }
    }

    fn take_refusal(&mut self) -> Option<String> {
        self.store.data_mut().take_refusal()
    }

    fn global(&mut self, instance: &Instance, name: &str) -> Result<Value, Observed> {
        match instance.get_global(&mut self.store, name) {
            Some(g) => {
                let v = g.get(&mut self.store);
                Ok(self.value(&v))
            }
            None => Err(Observed::Failed { message: format!("no global `{name}`") }),
        }
    }
}
