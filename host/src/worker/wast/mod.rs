//! Running a spec script in the worker (`faultbox wast`): one store per
//! script, modules linked against `spectest` and against each other by
//! `register`. The only part of `wast` that knows wasmtime.
//!
//! - [`script`]: reading a script (the supervisor checks it with this too).
//! - [`values`]: `assert_return`'s expected values against returned ones.

pub mod script;
pub mod values;

use crate::protocol::{DirectiveResult, Observed, UNCAUGHT, WastObservation, WastRequest};
use crate::model::WasmEngine;
use crate::wasm::{EngineSpec, RunState, Watchdog, WasmProfile, trap_of};
use std::collections::HashMap;
use std::time::Duration;
use wasmtime::{
    AnyRef, Engine, ExternRef, Global, GlobalType, Instance, Linker, Memory, MemoryType, Module, Mutability,
    Ref, RefType, Store, Table, TableType, Val, ValType,
};
use wast::core::{AbstractHeapType, HeapType, WastArgCore};
use wast::{QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// The engine for spec scripts: the model's engine with the process's
/// feature profile ([`WasmProfile`]), so that a module from a proposal the
/// profile leaves out is reported as skipped instead of half-supported.
/// Spec modules declare tables and memories of any size: allocated on
/// demand, not from a pool.
pub fn engine(model: WasmEngine) -> anyhow::Result<Engine> {
    EngineSpec { allocation: crate::wasm::Allocation::OnDemand, ..EngineSpec::new(model, 512) }.build()
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
fn compile_failure(bytes: &[u8], e: &wasmtime::Error) -> Slot {
    match wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(bytes) {
        Ok(_) => Slot::Unavailable(not_compiled(e)),
        Err(v) => Slot::Broken(format!("the module does not decode or validate: {}", one_line(v.message()))),
    }
}

/// A module slot: an instance, or why there is none.
#[derive(Clone)]
enum Slot {
    Ready(Instance),
    /// It needs what faultbox does not enable: what depends on it is
    /// skipped.
    Unavailable(String),
    /// It should have worked and did not: what depends on it failed.
    Broken(String),
}

impl Slot {
    /// What a directive that needs this missing module observed.
    fn missing(self) -> Observed {
        match self {
            Slot::Broken(message) => Observed::Failed { message },
            Slot::Unavailable(reason) => Observed::Skipped { reason },
            Slot::Ready(_) => Observed::Returned,
        }
    }

    /// What the directive that made this slot observed.
    fn made(&self) -> Observed {
        match self {
            Slot::Ready(_) => Observed::Accepted,
            other => other.clone().missing(),
        }
    }
}

struct Runner<'e> {
    engine: &'e Engine,
    watchdog: &'e Watchdog,
    timeout: Duration,
    store: Store<RunState>,
    linker: Linker<RunState>,
    current: Option<Slot>,
    named: HashMap<String, Slot>,
    definitions: HashMap<String, Result<Module, Slot>>,
    /// Registered names whose module was unavailable, and why.
    unavailable_imports: HashMap<String, String>,
}

fn no_announce(_: faultbox_guests::host::HostOp) {}

/// Runs one script and reports every directive.
pub fn run(engine: &Engine, watchdog: &Watchdog, req: &WastRequest) -> anyhow::Result<WastObservation> {
    let text = match &req.text {
        Some(text) => text.clone(),
        None => script::read(&req.path)?,
    };
    let mut store = Store::new(engine, RunState::new(u64::MAX, no_announce));
    store.set_epoch_deadline(1);
    let mut linker = Linker::new(engine);
    linker.allow_shadowing(true);
    define_spectest(&mut linker, &mut store)?;
    let mut runner = Runner {
        engine,
        watchdog,
        timeout: Duration::from_millis(req.timeout_ms),
        store,
        linker,
        current: None,
        named: HashMap::new(),
        definitions: HashMap::new(),
        unavailable_imports: HashMap::new(),
    };
    let observation = script::with_directives(&req.path, &text, |directives| {
        let mut obs = WastObservation { directives: Vec::new() };
        for d in directives {
            let line = crate::error::line_of(&text, d.span().offset());
            obs.directives.push(runner.directive(d, line));
        }
        obs
    })?;
    Ok(observation)
}

/// The `spectest` module every spec script may import.
fn define_spectest(linker: &mut Linker<RunState>, store: &mut Store<RunState>) -> anyhow::Result<()> {
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

/// What `assert_exception` expects: the spec names no message.

fn describe(err: &wasmtime::Error) -> Observed {
    match trap_of(err) {
        Some(trap) => Observed::Trapped { trap, message: err.root_cause().to_string() },
        None => Observed::Failed { message: format!("{err:#}").lines().next().unwrap_or_default().to_string() },
    }
}

impl Runner<'_> {
    /// Runs one directive and says what happened.
    fn directive(&mut self, d: WastDirective<'_>, line: usize) -> DirectiveResult {
        let kind = script::kind(&d).to_string();
        let result = |expected: &str, observed: Observed| DirectiveResult { line: u32::try_from(line).unwrap_or(u32::MAX), kind, expected: expected.to_string(), observed };
        // What faultbox cannot run is reported, with why, and the script
        // goes on; a module that cannot be made leaves its name unavailable.
        if let Some(reason) = script::unsupported(&d) {
            let reason = reason.to_string();
            let slot = Slot::Unavailable(reason.clone());
            match &d {
                WastDirective::Module(q) => {
                    if let Some(id) = q.name() {
                        self.named.insert(id.name().to_string(), slot.clone());
                    }
                    self.current = Some(slot);
                }
                WastDirective::ModuleDefinition(q) => {
                    let name = q.name().map(|id| id.name().to_string()).unwrap_or_default();
                    self.definitions.insert(name, Err(slot));
                }
                _ => {}
            }
            return result("", Observed::Skipped { reason });
        }
        match d {
            WastDirective::Module(mut q) => {
                let name = q.name().map(|id| id.name().to_string());
                let slot = match self.compile(&mut q) {
                    Ok(module) => self.instantiate(&module),
                    Err(slot) => slot,
                };
                if let Some(name) = name {
                    self.named.insert(name, slot.clone());
                }
                let observed = slot.made();
                self.current = Some(slot);
                result("instantiates", observed)
            }
            WastDirective::ModuleDefinition(mut q) => {
                let name = q.name().map(|id| id.name().to_string()).unwrap_or_default();
                let module = self.compile(&mut q);
                let observed = match &module {
                    Ok(_) => Observed::Accepted,
                    Err(slot) => slot.made(),
                };
                self.definitions.insert(name, module);
                result("compiles", observed)
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let def = module.map(|m| m.name().to_string()).unwrap_or_default();
                let slot = match self.definitions.get(&def).cloned() {
                    Some(Ok(module)) => self.instantiate(&module),
                    Some(Err(slot)) => slot,
                    None => Slot::Broken(format!("no module definition `{def}`")),
                };
                if let Some(name) = instance {
                    self.named.insert(name.name().to_string(), slot.clone());
                }
                let observed = slot.made();
                self.current = Some(slot);
                result("instantiates", observed)
            }
            WastDirective::Register { name, module, .. } => {
                let observed = match self.slot(module.map(|m| m.name())) {
                    Slot::Ready(instance) => match self.linker.instance(&mut self.store, name, instance) {
                        Ok(_) => Observed::Accepted,
                        Err(e) => {
                            self.unavailable_imports.insert(name.to_string(), format!("{e}"));
                            Observed::Failed { message: one_line(&format!("{e:#}")) }
                        }
                    },
                    missing @ (Slot::Unavailable(_) | Slot::Broken(_)) => {
                        if let Slot::Unavailable(reason) | Slot::Broken(reason) = &missing {
                            self.unavailable_imports.insert(name.to_string(), reason.clone());
                        }
                        missing.missing()
                    }
                };
                result("registers", observed)
            }
            WastDirective::Invoke(invoke) => {
                let observed = match self.invoke(&invoke) {
                    Ok(values) => Observed::Values { values: self.texts(&values), mismatch: None },
                    Err(observed) => observed,
                };
                result("returns", observed)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let expected: Vec<String> = results
                    .iter()
                    .map(|r| match r {
                        WastRet::Core(c) => values::pattern_text(c),
                        #[allow(unreachable_patterns)]
                        _ => "a component value".to_string(),
                    })
                    .collect();
                let observed = match self.execute(exec) {
                    Ok(values) => self.compare(&values, &results),
                    Err(observed) => observed,
                };
                let expected = if expected.is_empty() { "no values".to_string() } else { expected.join(", ") };
                result(&expected, observed)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let observed = self.execute(exec).err().unwrap_or(Observed::Returned);
                result(message, observed)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let observed = self.invoke(&call).err().unwrap_or(Observed::Returned);
                result(message, observed)
            }
            WastDirective::AssertException { exec, .. } => {
                let observed = self.execute(exec).err().unwrap_or(Observed::Returned);
                result(UNCAUGHT, observed)
            }
            WastDirective::AssertUnlinkable { module, message, .. } => {
                let observed = self.unlinkable(QuoteWat::Wat(module));
                result(&format!("unlinkable: {message}"), observed)
            }
            // Only that the module is rejected is compared: wasmtime's
            // messages are not the reference interpreter's.
            WastDirective::AssertInvalid { mut module, message, .. } => {
                result(&format!("invalid: {message}"), self.rejected(&mut module))
            }
            WastDirective::AssertMalformed { mut module, message, .. } => {
                result(&format!("malformed: {message}"), self.rejected(&mut module))
            }
            // `script::unsupported` names every other directive.
            other => result("", Observed::Skipped { reason: format!("{}: not run by faultbox", script::kind(&other)) }),
        }
    }

    /// `assert_invalid`, `assert_malformed`: the module must not make it
    /// through the text parser, the decoder or the validator.
    fn rejected(&mut self, q: &mut QuoteWat<'_>) -> Observed {
        let bytes = match q.encode() {
            Ok(b) => b,
            Err(e) => return Observed::Rejected { stage: "text".into(), message: one_line(&e.message()) },
        };
        match Module::new(self.engine, &bytes) {
            Ok(_) => Observed::Accepted,
            Err(e) => Observed::Rejected { stage: "decode or validate".into(), message: one_line(&format!("{e:#}")) },
        }
    }

    /// `assert_unlinkable`: a valid module that must fail to link. Its
    /// start function runs under the same budget as any other guest code
    /// (a failed link may still have initialised tables and memories it
    /// shares).
    fn unlinkable(&mut self, mut q: QuoteWat<'_>) -> Observed {
        let module = match self.compile(&mut q) {
            Ok(m) => m,
            Err(slot) => return slot.missing(),
        };
        self.arm();
        let outcome = self.linker.instantiate(&mut self.store, &module);
        self.watchdog.disarm();
        match outcome {
            Ok(_) => Observed::Accepted,
            Err(e) => match describe(&e) {
                trapped @ Observed::Trapped { .. } => trapped,
                _ if self.imports_unavailable(&module) => Observed::Skipped { reason: self.link_failure(&module, &e) },
                _ => Observed::Rejected { stage: "link or instantiate".into(), message: one_line(&format!("{e:#}")) },
            },
        }
    }

    fn imports_unavailable(&self, module: &Module) -> bool {
        module.imports().any(|i| self.unavailable_imports.contains_key(i.module()))
    }

    /// The returned values against the expected ones.
    fn compare(&mut self, values: &[Val], expected: &[WastRet<'_>]) -> Observed {
        let texts = self.texts(values);
        let mut mismatch = None;
        if values.len() != expected.len() {
            mismatch = Some(format!(
                "expected {} value(s) [{}], observed {} [{}]",
                expected.len(),
                expected.iter().map(|r| match r {
                    WastRet::Core(c) => values::pattern_text(c),
                    #[allow(unreachable_patterns)]
                    _ => "a component value".to_string(),
                }).collect::<Vec<_>>().join(", "),
                values.len(),
                texts.join(", ")
            ));
        } else {
            for (i, (v, e)) in values.iter().zip(expected).enumerate() {
                let WastRet::Core(e) = e else {
                    return Observed::Skipped { reason: "component values: the component model is not enabled".into() };
                };
                match values::matches(&mut self.store, v, e) {
                    Ok(()) => {}
                    Err(values::Mismatch::Unsupported(reason)) => return Observed::Skipped { reason },
                    Err(values::Mismatch::Differs(why)) => {
                        if mismatch.is_none() {
                            mismatch = Some(if values.len() == 1 { why } else { format!("result {i}: {why}") });
                        }
                    }
                }
            }
        }
        Observed::Values { values: texts, mismatch }
    }

    fn texts(&mut self, values: &[Val]) -> Vec<String> {
        values.iter().map(|v| values::value_text(&mut self.store, v)).collect()
    }

    fn compile(&mut self, q: &mut QuoteWat<'_>) -> Result<Module, Slot> {
        let bytes = q.encode().map_err(|e| Slot::Broken(format!("cannot encode the module: {}", e.message())))?;
        Module::new(self.engine, &bytes).map_err(|e| compile_failure(&bytes, &e))
    }

    fn instantiate(&mut self, module: &Module) -> Slot {
        self.arm();
        let result = self.linker.instantiate(&mut self.store, module);
        self.watchdog.disarm();
        match result {
            Ok(instance) => Slot::Ready(instance),
            Err(e) if self.imports_unavailable(module) => Slot::Unavailable(self.link_failure(module, &e)),
            Err(e) => Slot::Broken(format!("instantiation failed: {}", one_line(&format!("{e:#}")))),
        }
    }

    /// Why instantiation failed, naming an unavailable registered module
    /// when that is the cause.
    fn link_failure(&self, module: &Module, e: &wasmtime::Error) -> String {
        for import in module.imports() {
            if let Some(reason) = self.unavailable_imports.get(import.module()) {
                return format!("imports from `{}`, which is unavailable: {reason}", import.module());
            }
        }
        format!("instantiation failed: {}", one_line(&format!("{e:#}")))
    }

    fn slot(&self, id: Option<&str>) -> Slot {
        match id {
            Some(name) => self.named.get(name).cloned().unwrap_or_else(|| Slot::Unavailable(format!("no module `{name}`"))),
            None => self.current.clone().unwrap_or_else(|| Slot::Unavailable("no module defined yet".into())),
        }
    }

    fn arm(&mut self) {
        self.store.set_epoch_deadline(1);
        self.watchdog.arm(self.engine, self.timeout);
    }

    /// Runs an action: the values it returned, or what happened instead.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>, Observed> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let bytes = wat.encode().map_err(|e| Observed::Failed { message: e.message() })?;
                let module = Module::new(self.engine, &bytes).map_err(|e| compile_failure(&bytes, &e).missing())?;
                self.arm();
                let result = self.linker.instantiate(&mut self.store, &module);
                self.watchdog.disarm();
                match result {
                    Ok(_) => Ok(Vec::new()),
                    Err(e) => Err(match describe(&e) {
                        Observed::Failed { .. } if self.imports_unavailable(&module) => {
                            Observed::Skipped { reason: self.link_failure(&module, &e) }
                        }
                        other => other,
                    }),
                }
            }
            WastExecute::Get { module, global, .. } => match self.slot(module.map(|m| m.name())) {
                Slot::Ready(instance) => match instance.get_global(&mut self.store, global) {
                    Some(g) => Ok(vec![g.get(&mut self.store)]),
                    None => Err(Observed::Failed { message: format!("no global `{global}`") }),
                },
                missing => Err(missing.missing()),
            },
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>, Observed> {
        let instance = match self.slot(invoke.module.map(|m| m.name())) {
            Slot::Ready(i) => i,
            missing => return Err(missing.missing()),
        };
        let Some(func) = instance.get_func(&mut self.store, invoke.name) else {
            return Err(Observed::Failed { message: format!("no exported function `{}`", invoke.name) });
        };
        let mut args = Vec::new();
        for arg in &invoke.args {
            match self.value(arg) {
                Ok(v) => args.push(v),
                Err(reason) => return Err(Observed::Skipped { reason }),
            }
        }
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        self.arm();
        let outcome = func.call(&mut self.store, &args, &mut results);
        self.watchdog.disarm();
        match outcome {
            Ok(()) => Ok(results),
            Err(e) => {
                // An uncaught exception stays rooted in the store until
                // taken; the script's next call must start clean.
                let _ = self.store.take_pending_exception();
                Err(describe(&e))
            }
        }
    }

    fn value(&mut self, arg: &WastArg<'_>) -> Result<Val, String> {
        let WastArg::Core(core) = arg else { return Err("component values are not supported".into()) };
        Ok(match core {
            WastArgCore::I32(x) => Val::I32(*x),
            WastArgCore::I64(x) => Val::I64(*x),
            WastArgCore::F32(x) => Val::F32(x.bits),
            WastArgCore::F64(x) => Val::F64(x.bits),
            WastArgCore::V128(x) => Val::V128(u128::from_le_bytes(x.to_le_bytes()).into()),
            // A null is a null of its hierarchy's top type: that is all a
            // `Val` holds.
            WastArgCore::RefNull(HeapType::Abstract { ty, .. }) => {
                use AbstractHeapType as H;
                match ty {
                    H::Func | H::NoFunc => Val::FuncRef(None),
                    H::Extern | H::NoExtern => Val::ExternRef(None),
                    H::Any | H::Eq | H::Struct | H::Array | H::I31 | H::None => Val::AnyRef(None),
                    H::Exn | H::NoExn => Val::ExnRef(None),
                    other => return Err(format!("a null {other:?} reference (a proposal faultbox does not enable)")),
                }
            }
            WastArgCore::RefExtern(n) => {
                let r = ExternRef::new(&mut self.store, *n).map_err(|e| format!("externref: {e}"))?;
                Val::ExternRef(Some(r))
            }
            // The spec's host references are `any` values: an externref
            // internalized, as `any.convert_extern` would.
            WastArgCore::RefHost(n) => {
                let r = ExternRef::new(&mut self.store, *n).map_err(|e| format!("hostref: {e}"))?;
                let r = AnyRef::convert_extern(&mut self.store, r).map_err(|e| format!("hostref: {e}"))?;
                Val::AnyRef(Some(r))
            }
            other => return Err(format!("argument {other:?} needs a proposal faultbox does not enable")),
        })
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
