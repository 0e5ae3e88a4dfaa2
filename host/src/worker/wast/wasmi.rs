//! Spec scripts in wasmi 2.0.0, the pure-Rust interpreter.
//!
//! What wasmi does not implement is a named skip, decided per module before
//! wasmi sees it: faultbox's own wasmparser validates the module under
//! wasmi's feature set ([`WASMI_FEATURES`], within the process's profile)
//! and under the profile's; when the two disagree the module needs a
//! proposal wasmi lacks. A module that validates under wasmi's set and that
//! wasmi still refuses is a failure: a real disagreement.
//!
//! Guest code runs on fuel, handed out in slices: each time a slice runs
//! out the calling thread's CPU clock is read against the request's
//! budget, and the call resumes or ends as the `interrupt` trap the
//! wasmtime runner reports at its deadline. Start functions run the same
//! way: they are detached from the module and called after instantiation
//! (an instantiation cannot be resumed). Stack exhaustion is wasmi's own
//! limits' trap: its interpreter keeps wasm frames on a stack of its own,
//! not the native one.

use super::values::{Hierarchy, Value};
use super::{Failure, Missing, SpecEngine, Verdict, one_line, script::Beyond};
use crate::limits::{Deadline, ran_out, wall_backstop};
use crate::outcome::TrapCode;
use crate::protocol::{Observed, WastObservation, WastRequest};
use crate::wasm::WasmProfile;
use std::time::{Duration, Instant};
use wasmi::{
    CompilationMode, Config, Engine, ExternRef, Func, Global, Instance, Linker, Memory, MemoryType, Module,
    Mutability, Nullable, Ref, RefType, ResumableCall, Store, Table, TableType, Val,
};
use wasmparser::{Validator, WasmFeatures};

/// What wasmi 2.0.0 claims to implement, as wasmparser's flags: the
/// features `Config::default_features` turns on (wasmi-2.0.0/src/engine/
/// config.rs) with the crate features faultbox builds it with (`simd`:
/// SIMD and relaxed SIMD; `memory64`), plus the two proposals wasmi
/// implements but leaves off by default (`Config::wasm_custom_page_sizes`,
/// `Config::wasm_wide_arithmetic`), which faultbox's profile keeps off as
/// it does for wasmtime. wasmi's `Config` has no switch at all for garbage
/// collection, exception handling, typed function references, threads or
/// stack switching: its validator never enables them. `GC_TYPES` is not a
/// proposal but wasmparser's gate on `externref`, which wasmi's reference
/// types need ("required by reference-types" in that function).
pub const WASMI_FEATURES: WasmFeatures = WasmFeatures::FLOATS
    .union(WasmFeatures::MUTABLE_GLOBAL)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::GC_TYPES)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::MEMORY64)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::CUSTOM_PAGE_SIZES)
    .union(WasmFeatures::WIDE_ARITHMETIC);

/// The Wasm 3.0 proposals faultbox's 3.0 profile enables, named as its
/// profile table names them (`crate::wasm`'s `PROPOSALS`, which that module
/// keeps private): the profile's feature set is Wasm 2.0 plus these.
const WASM3_PROPOSALS: [(&str, WasmFeatures); 8] = [
    ("tail calls", WasmFeatures::TAIL_CALL),
    ("extended constant expressions", WasmFeatures::EXTENDED_CONST),
    ("typed function references", WasmFeatures::FUNCTION_REFERENCES),
    ("garbage collection", WasmFeatures::GC),
    ("multiple memories", WasmFeatures::MULTI_MEMORY),
    ("64-bit memories", WasmFeatures::MEMORY64),
    ("relaxed SIMD", WasmFeatures::RELAXED_SIMD),
    ("exception handling", WasmFeatures::EXCEPTIONS),
];

/// What faultbox's profile enables for wasmtime, as wasmparser's flags.
pub fn profile_features(profile: WasmProfile) -> WasmFeatures {
    match profile {
        WasmProfile::Wasm2 => WasmFeatures::WASM2,
        WasmProfile::Wasm3 => WASM3_PROPOSALS.iter().fold(WasmFeatures::WASM2, |f, (_, p)| f.union(*p)),
    }
}

/// What wasmi runs under the profile: what it claims, within the profile.
pub fn wasmi_features(profile: WasmProfile) -> WasmFeatures {
    WASMI_FEATURES.intersection(profile_features(profile))
}

/// Fuel handed out at a time: a few milliseconds of interpretation, so
/// that the CPU clock is read often enough to stop near the budget and
/// rarely enough to cost nothing measurable.
const FUEL_SLICE: u64 = 1 << 20;

/// wasmi's own limits on the call stack (frames) and the value stack
/// (bytes), its defaults (wasmi-2.0.0/src/engine/limits/stack.rs), set
/// here so that `assert_exhaustion` does not move with wasmi's defaults.
const MAX_RECURSION_DEPTH: usize = 1_000;
const MAX_STACK_HEIGHT: usize = 1_000_000;

/// The name a detached start function is exported under. Not a name a
/// text module can write unescaped, and never imported by a script.
const START_EXPORT: &str = "\u{0}faultbox:start";

use super::cap::StoreCap;

/// wasmi's default limit on a store's instances, tables and memories
/// (`DEFAULT_INSTANCE_LIMIT` and its siblings in wasmi-2.0.0/src/limiter.rs).
const WASMI_DEFAULT_COUNT: usize = 10_000;

/// The store's cap, as wasmi asks it: wasmi checks a memory's or table's
/// own maximum before it asks. The counts of instances, tables and
/// memories are wasmi's defaults (`StoreLimits`): the cap on bytes and
/// elements is what bounds them.
impl wasmi::ResourceLimiter for StoreCap {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> Result<bool, wasmi_core::LimiterError> {
        // `Ok(false)`: memory.grow returns -1 (an `Err` would trap).
        Ok(self.memory(current, desired, maximum))
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> Result<bool, wasmi_core::LimiterError> {
        Ok(self.table(current, desired, maximum))
    }

    fn instances(&self) -> usize {
        WASMI_DEFAULT_COUNT
    }

    fn tables(&self) -> usize {
        WASMI_DEFAULT_COUNT
    }

    fn memories(&self) -> usize {
        WASMI_DEFAULT_COUNT
    }
}

/// faultbox's code for a wasmi trap: the backend's one table.
pub use crate::wasm::wasmi_backend::trap_code;

fn failure(e: &wasmi::Error) -> Failure {
    let message = one_line(&e.to_string());
    if let Some(trap) = crate::wasm::wasmi_backend::trap_of(e) {
        return Failure { trap: Some(trap), message };
    }
    match e.as_trap_code() {
        Some(code) => match trap_code(code) {
            Some(trap) => Failure { trap: Some(trap), message },
            None => Failure { trap: None, message: format!("wasmi trap {code:?} (no faultbox trap code): {message}") },
        },
        None => Failure { trap: None, message },
    }
}

/// wasmi's configuration for the profile: every proposal switch set from
/// [`wasmi_features`], none left to wasmi's defaults.
fn config(profile: WasmProfile) -> Config {
    let f = wasmi_features(profile);
    let on = |flag: WasmFeatures| f.contains(flag);
    let mut config = Config::default();
    config
        .wasm_mutable_global(on(WasmFeatures::MUTABLE_GLOBAL))
        .wasm_sign_extension(on(WasmFeatures::SIGN_EXTENSION))
        .wasm_saturating_float_to_int(on(WasmFeatures::SATURATING_FLOAT_TO_INT))
        .wasm_multi_value(on(WasmFeatures::MULTI_VALUE))
        .wasm_multi_memory(on(WasmFeatures::MULTI_MEMORY))
        .wasm_bulk_memory(on(WasmFeatures::BULK_MEMORY))
        .wasm_reference_types(on(WasmFeatures::REFERENCE_TYPES))
        .wasm_tail_call(on(WasmFeatures::TAIL_CALL))
        .wasm_extended_const(on(WasmFeatures::EXTENDED_CONST))
        .wasm_custom_page_sizes(on(WasmFeatures::CUSTOM_PAGE_SIZES))
        .wasm_memory64(on(WasmFeatures::MEMORY64))
        .wasm_wide_arithmetic(on(WasmFeatures::WIDE_ARITHMETIC))
        .wasm_simd(on(WasmFeatures::SIMD))
        .wasm_relaxed_simd(on(WasmFeatures::RELAXED_SIMD))
        .floats(on(WasmFeatures::FLOATS))
        .consume_fuel(true)
        // Translated when compiled, not on first call: lazy translation
        // would charge fuel and report invalid function bodies late.
        .compilation_mode(CompilationMode::Eager)
        .set_max_recursion_depth(MAX_RECURSION_DEPTH)
        .set_max_stack_height(MAX_STACK_HEIGHT);
    config
}

/// Runs one script in wasmi and reports every directive, under the
/// process's profile ([`WasmProfile::current`]).
pub fn run_wasmi(req: &WastRequest) -> anyhow::Result<WastObservation> {
    super::run_in(Wasmi::new(WasmProfile::current(), Duration::from_millis(req.timeout_ms))?, req)
}

/// A compiled module, and whether its start function was detached.
#[derive(Clone)]
pub struct WasmiModule {
    module: Module,
    start: bool,
}

struct Wasmi {
    engine: Engine,
    store: Store<StoreCap>,
    linker: Linker<StoreCap>,
    budget: Duration,
    profile: WasmProfile,
    /// What wasmi validates with, and what the profile validates with.
    features: WasmFeatures,
    profile_features: WasmFeatures,
}

impl Wasmi {
    fn new(profile: WasmProfile, budget: Duration) -> anyhow::Result<Wasmi> {
        let engine = Engine::new(&config(profile));
        // One store per script holds every module's memories and tables:
        // wasmi allocates and zero-fills each byte of a memory, so the
        // whole store gets one cap (`cap`), as a scenario's store does.
        let mut store = Store::new(&engine, StoreCap::default());
        store.limiter(|l| l);
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        define_spectest(&mut linker, &mut store).map_err(|e| anyhow::anyhow!("spectest for wasmi: {e}"))?;
        Ok(Wasmi {
            engine,
            store,
            linker,
            budget,
            profile,
            features: wasmi_features(profile),
            profile_features: profile_features(profile),
        })
    }

    /// Why wasmi cannot judge `bytes`, if it cannot: validated under
    /// wasmi's features and under the profile's, the module fares
    /// differently (valid under one only, or invalid for another reason),
    /// so it uses a proposal wasmi lacks.
    fn lacks(&self, bytes: &[u8]) -> Option<String> {
        if self.features == self.profile_features {
            return None;
        }
        let same = match (validate(bytes, self.features), validate(bytes, self.profile_features)) {
            (Ok(()), Ok(())) => true,
            (Err(a), Err(b)) => a.message() == b.message() && a.offset() == b.offset(),
            _ => false,
        };
        if same {
            return None;
        }
        Some(format!("wasmi 2.0.0 does not implement {}", self.needed(bytes).join(" and ")))
    }

    /// The proposals wasmi lacks that `bytes` uses, as far as validation
    /// tells: each feature the validator asks for in turn, then any whose
    /// removal from the profile changes the outcome.
    fn needed(&self, bytes: &[u8]) -> Vec<&'static str> {
        let lacking: Vec<(&'static str, WasmFeatures)> = WASM3_PROPOSALS
            .iter()
            .copied()
            .filter(|(_, p)| self.profile_features.contains(*p) && !self.features.contains(*p))
            .collect();
        let mut features = self.features;
        let mut named: Vec<(&'static str, WasmFeatures)> = Vec::new();
        while let Err(e) = validate(bytes, features) {
            let Some(missing) = e.missing_wasm_feature() else { break };
            let Some(&(name, p)) = lacking.iter().find(|(_, p)| p.intersects(missing) && !features.contains(*p)) else {
                break;
            };
            named.push((name, p));
            features |= p;
        }
        if named.is_empty() {
            let whole = validate(bytes, self.profile_features).map_err(|e| (e.message().to_string(), e.offset()));
            named = lacking
                .iter()
                .copied()
                .filter(|(_, p)| {
                    let without = validate(bytes, self.profile_features.difference(*p));
                    without.map_err(|e| (e.message().to_string(), e.offset())) != whole
                })
                .collect();
        }
        if named.is_empty() {
            named = lacking;
        }
        // Garbage collection is built on typed function references; a GC
        // module asks the validator for both.
        if named.iter().any(|(_, p)| *p == WasmFeatures::GC) {
            named.retain(|(_, p)| *p != WasmFeatures::FUNCTION_REFERENCES);
        }
        named.sort_by_key(|(name, _)| WASM3_PROPOSALS.iter().position(|(n, _)| n == name));
        named.into_iter().map(|(name, _)| name).collect()
    }

    /// Runs `func` on fuel slices until it returns, traps, or the CPU
    /// budget (or its wall-clock backstop) is spent.
    fn run(&mut self, func: Func, args: &[Val], results: &mut [Val]) -> Result<(), Failure> {
        let fuel = |store: &mut Store<StoreCap>, fuel: u64| {
            store.set_fuel(fuel).map_err(|e| Failure { trap: None, message: format!("cannot set fuel: {e}") })
        };
        let cpu_at_start = crate::process::thread_cpu_time();
        let wall_until = Instant::now() + wall_backstop(self.budget);
        fuel(&mut self.store, FUEL_SLICE)?;
        let mut call = func.call_resumable(&mut self.store, args, results).map_err(|e| failure(&e))?;
        loop {
            match call {
                ResumableCall::Finished => return Ok(()),
                ResumableCall::HostTrap(trap) => return Err(failure(&trap.into_host_error())),
                ResumableCall::OutOfFuel(pending) => {
                    let used = crate::process::thread_cpu_time().saturating_sub(cpu_at_start);
                    if let Some(deadline) = ran_out(used, self.budget, Instant::now(), wall_until) {
                        return Err(self.interrupt(deadline));
                    }
                    fuel(&mut self.store, FUEL_SLICE.max(pending.required_fuel()))?;
                    call = pending.resume(&mut self.store, results).map_err(|e| failure(&e))?;
                }
            }
        }
    }

    /// A spent budget, as wasmtime's watchdog reports it: the interrupt
    /// trap.
    fn interrupt(&self, deadline: Deadline) -> Failure {
        let message = match deadline {
            Deadline::Cpu => format!("interrupt: the CPU-time budget of {} ms ran out", self.budget.as_millis()),
            Deadline::Wall => format!(
                "interrupt: the wall-clock backstop of {} ms passed before the CPU-time budget ran out",
                wall_backstop(self.budget).as_millis()
            ),
        };
        Failure { trap: Some(TrapCode::Interrupt), message }
    }

    fn value(&self, v: &Val) -> Value {
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(x) => Value::F32(x.to_bits()),
            Val::F64(x) => Value::F64(x.to_bits()),
            Val::V128(x) => Value::V128(x.as_u128()),
            Val::FuncRef(Nullable::Null) => Value::Null(Hierarchy::Func),
            Val::FuncRef(Nullable::Val(_)) => Value::Func,
            Val::ExternRef(Nullable::Null) => Value::Null(Hierarchy::Extern),
            Val::ExternRef(Nullable::Val(x)) => Value::Extern(x.data(&self.store).downcast_ref::<u32>().copied()),
        }
    }

    fn val(&mut self, v: &Value) -> Result<Val, String> {
        Ok(match v {
            Value::I32(x) => Val::I32(*x),
            Value::I64(x) => Val::I64(*x),
            Value::F32(b) => Val::F32(wasmi::F32::from_bits(*b)),
            Value::F64(b) => Val::F64(wasmi::F64::from_bits(*b)),
            Value::V128(x) => Val::V128(wasmi::V128::from(*x)),
            Value::Null(Hierarchy::Func) => Val::FuncRef(Nullable::Null),
            Value::Null(Hierarchy::Extern) => Val::ExternRef(Nullable::Null),
            Value::Extern(Some(n)) => Val::ExternRef(Nullable::Val(ExternRef::new(&mut self.store, *n))),
            Value::Null(Hierarchy::Any) | Value::Any(_) => {
                return Err("anyref argument: wasmi 2.0.0 does not implement garbage collection".into());
            }
            Value::Null(Hierarchy::Exn) => {
                return Err("exnref argument: wasmi 2.0.0 does not implement exception handling".into());
            }
            Value::Null(Hierarchy::Cont) => {
                return Err("contref argument: wasmi 2.0.0 does not implement stack switching".into());
            }
            other => return Err(format!("{other:?} is not a value a script passes")),
        })
    }
}

fn validate(bytes: &[u8], features: WasmFeatures) -> Result<(), wasmparser::BinaryReaderError> {
    Validator::new_with_features(features).validate_all(bytes).map(|_| ())
}

/// The `spectest` module every spec script may import.
fn define_spectest(linker: &mut Linker<StoreCap>, store: &mut Store<StoreCap>) -> Result<(), wasmi::Error> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
    linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
    linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
    linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
    linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(wasmi::F32::from_bits(666.6f32.to_bits()))),
        ("global_f64", Val::F64(wasmi::F64::from_bits(666.6f64.to_bits()))),
    ];
    for (name, val) in globals {
        let g = Global::new(&mut *store, val, Mutability::Const);
        linker.define("spectest", name, g)?;
    }
    let table = Table::new(&mut *store, TableType::new(RefType::Func, 10, Some(20)), Ref::Func(Nullable::Null))?;
    linker.define("spectest", "table", table)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define("spectest", "memory", memory)?;
    Ok(())
}

/// One section of a module's binary: its id, the whole section and its
/// contents, as byte ranges.
struct Section {
    id: u8,
    whole: std::ops::Range<usize>,
    contents: std::ops::Range<usize>,
}

/// An unsigned LEB128 `u32` at the start of `b`, and its length.
fn leb_u32(b: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in b.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

fn push_leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn sections(bytes: &[u8]) -> Option<Vec<Section>> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let id = bytes[pos];
        let (size, n) = leb_u32(bytes.get(pos + 1..)?)?;
        let start = pos + 1 + n;
        let end = start.checked_add(size as usize).filter(|&e| e <= bytes.len())?;
        out.push(Section { id, whole: pos..end, contents: start..end });
        pos = end;
    }
    Some(out)
}

/// `bytes` (a module that validated) without its start section, the start
/// function exported as [`START_EXPORT`] instead; `None` when it has no
/// start section.
fn detach_start(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    const EXPORT: u8 = 7;
    const START: u8 = 8;
    let sections = sections(bytes).ok_or("the module's sections do not parse")?;
    let Some(start) = sections.iter().position(|s| s.id == START) else { return Ok(None) };
    let (func, _) = leb_u32(&bytes[sections[start].contents.clone()]).ok_or("the start section does not parse")?;
    let mut entry = Vec::new();
    push_leb(&mut entry, START_EXPORT.len() as u32);
    entry.extend_from_slice(START_EXPORT.as_bytes());
    entry.push(0x00);
    push_leb(&mut entry, func);
    let push_section = |out: &mut Vec<u8>, contents: &[u8]| {
        out.push(EXPORT);
        push_leb(out, contents.len() as u32);
        out.extend_from_slice(contents);
    };
    let export = sections.iter().position(|s| s.id == EXPORT);
    let mut out = bytes[..8].to_vec();
    for (i, s) in sections.iter().enumerate() {
        if i == start {
            // The export section comes just before the start section: a
            // module without one gets it where its start section was.
            if export.is_none() {
                let mut contents = vec![1];
                contents.extend_from_slice(&entry);
                push_section(&mut out, &contents);
            }
        } else if Some(i) == export {
            let old = &bytes[s.contents.clone()];
            let (count, n) = leb_u32(old).ok_or("the export section does not parse")?;
            let mut contents = Vec::new();
            push_leb(&mut contents, count + 1);
            contents.extend_from_slice(&old[n..]);
            contents.extend_from_slice(&entry);
            push_section(&mut out, &contents);
        } else {
            out.extend_from_slice(&bytes[s.whole.clone()]);
        }
    }
    Ok(Some(out))
}

impl SpecEngine for Wasmi {
    type Module = WasmiModule;
    type Instance = Instance;

    fn beyond(&self, what: Beyond) -> &'static str {
        match what {
            Beyond::Threads => "wasmi 2.0.0 does not implement threads",
            Beyond::StackSwitching => "wasmi 2.0.0 does not implement stack switching",
            Beyond::Component => "wasmi 2.0.0 runs core modules only, not components",
            Beyond::CustomSection => "wasmi 2.0.0 does not interpret the contents of custom sections",
        }
    }

    fn compile(&mut self, bytes: &[u8]) -> Result<WasmiModule, Missing> {
        if let Some(reason) = self.lacks(bytes) {
            return Err(Missing::Unavailable(reason));
        }
        if let Err(e) = validate(bytes, self.features) {
            // Invalid under the profile too: what wasmtime's runner says.
            return Err(match validate(bytes, WasmFeatures::all()) {
                Ok(()) => Missing::Unavailable(format!(
                    "the module does not compile with faultbox's Wasm {} feature set: {}",
                    self.profile.name(),
                    one_line(e.message())
                )),
                Err(v) => Missing::Broken(format!("the module does not decode or validate: {}", one_line(v.message()))),
            });
        }
        let detached = detach_start(bytes).map_err(|e| Missing::Broken(format!("cannot detach the start function: {e}")))?;
        let start = detached.is_some();
        match Module::new(&self.engine, detached.as_deref().unwrap_or(bytes)) {
            Ok(module) => Ok(WasmiModule { module, start }),
            Err(e) => Err(Missing::Broken(format!(
                "wasmi 2.0.0 refused a module that validates under its feature set: {}",
                one_line(&e.to_string())
            ))),
        }
    }

    fn judge(&mut self, bytes: &[u8]) -> Verdict {
        if let Some(reason) = self.lacks(bytes) {
            return Verdict::Skipped(reason);
        }
        match Module::new(&self.engine, bytes) {
            Ok(_) => Verdict::Accepted,
            Err(e) => Verdict::Rejected(one_line(&e.to_string())),
        }
    }

    fn instantiate(&mut self, m: &WasmiModule) -> Result<Instance, Failure> {
        let instance = self.linker.instantiate_and_start(&mut self.store, &m.module).map_err(|e| failure(&e))?;
        if m.start {
            let Some(func) = instance.get_func(&self.store, START_EXPORT) else {
                return Err(Failure { trap: None, message: "the detached start function is not exported".into() });
            };
            self.run(func, &[], &mut [])?;
        }
        Ok(instance)
    }

    fn import_modules(&self, m: &WasmiModule) -> Vec<String> {
        m.module.imports().map(|i| i.module().to_string()).collect()
    }

    fn register(&mut self, name: &str, instance: &Instance) -> Result<(), String> {
        match self.linker.instance(&mut self.store, name, *instance) {
            Ok(_) => Ok(()),
            Err(e) => Err(one_line(&e.to_string())),
        }
    }

    fn call(&mut self, instance: &Instance, name: &str, args: &[Value]) -> Result<Vec<Value>, Observed> {
        let Some(func) = instance.get_func(&self.store, name) else {
            return Err(Observed::Failed { message: format!("no exported function `{name}`") });
        };
        let args = args.iter().map(|a| self.val(a)).collect::<Result<Vec<_>, _>>();
        let args = args.map_err(|reason| Observed::Skipped { reason })?;
        let mut results: Vec<Val> = func.ty(&self.store).results().iter().map(|t| Val::default_for_ty(*t)).collect();
        self.run(func, &args, &mut results).map_err(Failure::observed)?;
        Ok(results.iter().map(|v| self.value(v)).collect())
    }

    fn take_refusal(&mut self) -> Option<String> {
        self.store.data_mut().take_refusal()
    }

    fn global(&mut self, instance: &Instance, name: &str) -> Result<Value, Observed> {
        match instance.get_global(&self.store, name) {
            Some(g) => Ok(self.value(&g.get(&self.store))),
            None => Err(Observed::Failed { message: format!("no global `{name}`") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasmi(timeout_ms: u64) -> Wasmi {
        Wasmi::new(WasmProfile::Wasm3, Duration::from_millis(timeout_ms)).unwrap()
    }

    fn call(w: &mut Wasmi, wat: &str, export: &str) -> Result<Vec<Value>, Observed> {
        let module = w.compile(&wat::parse_str(wat).unwrap()).map_err(|m| m.observed())?;
        let instance = w.instantiate(&module).map_err(Failure::observed)?;
        w.call(&instance, export, &[])
    }

    /// Each row of the table, raised by wasmi itself and read back through
    /// the runner.
    #[test]
    fn wasmi_traps_map_onto_faultbox_codes() {
        let f = |body: &str| format!("(module (type $v (func)) (table 1 funcref) (memory 1) (func $nop) (elem (i32.const 0) $nop)\n(func (export \"f\") {body}))");
        let cases = [
            ("unreachable", TrapCode::UnreachableCodeReached),
            ("(drop (i32.load (i32.const 65536)))", TrapCode::MemoryOutOfBounds),
            ("(call_indirect (type $v) (i32.const 1))", TrapCode::TableOutOfBounds),
            ("(table.set (i32.const 0) (ref.null func)) (call_indirect (type $v) (i32.const 0))", TrapCode::IndirectCallToNull),
            ("(drop (i32.div_u (i32.const 1) (i32.const 0)))", TrapCode::IntegerDivisionByZero),
            ("(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))", TrapCode::IntegerOverflow),
            ("(drop (i32.trunc_f32_s (f32.const nan)))", TrapCode::BadConversionToInteger),
            ("(call 1)", TrapCode::StackOverflow),
            ("(drop (call_indirect (result i32) (i32.const 0)))", TrapCode::BadSignature),
        ];
        for (body, expected) in cases {
            let mut w = wasmi(10_000);
            match call(&mut w, &f(body), "f") {
                Err(Observed::Trapped { trap, .. }) => assert_eq!(trap, expected, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        // Active segments that do not fit, raised while instantiating.
        let mut w = wasmi(10_000);
        let oob_elem = "(module (table 1 funcref) (func $f) (elem (i32.const 1) $f))";
        let module = w.compile(&wat::parse_str(oob_elem).unwrap()).unwrap();
        assert_eq!(w.instantiate(&module).unwrap_err().trap, Some(TrapCode::TableOutOfBounds));
        let module = w.compile(&wat::parse_str("(module (memory 1) (data (i32.const 65536) \"x\"))").unwrap()).unwrap();
        assert_eq!(w.instantiate(&module).unwrap_err().trap, Some(TrapCode::MemoryOutOfBounds));
        // Out of fuel on a call that is not resumable.
        let mut w = wasmi(10_000);
        let module = w.compile(&wat::parse_str(&f("(loop (br 0))")).unwrap()).unwrap();
        let instance = w.instantiate(&module).unwrap();
        let func = instance.get_func(&w.store, "f").unwrap();
        w.store.set_fuel(1000).unwrap();
        let err = func.call(&mut w.store, &[], &mut []).unwrap_err();
        assert_eq!(failure(&err).trap, Some(TrapCode::OutOfFuel));
        // A limiter that refuses growth with a trap: wasmi's
        // GrowthOperationLimited, faultbox's growth_limited.
        let limits = wasmi::StoreLimitsBuilder::new().memory_size(1 << 16).trap_on_grow_failure(true).build();
        let mut store = Store::new(&w.engine, limits);
        store.limiter(|l| l);
        let module = Module::new(&w.engine, wat::parse_str(&f("(drop (memory.grow (i32.const 1)))")).unwrap()).unwrap();
        let instance = Linker::new(&w.engine).instantiate_and_start(&mut store, &module).unwrap();
        let func = instance.get_func(&store, "f").unwrap();
        store.set_fuel(1 << 20).unwrap();
        let err = func.call(&mut store, &[], &mut []).unwrap_err();
        assert_eq!(failure(&err).trap, Some(TrapCode::GrowthLimited));
    }

    #[test]
    fn a_runaway_call_ends_as_an_interrupt_within_its_cpu_budget() {
        let mut w = wasmi(100);
        let cpu = crate::process::thread_cpu_time();
        match call(&mut w, "(module (func (export \"spin\") (loop (br 0))))", "spin") {
            Err(Observed::Trapped { trap: TrapCode::Interrupt, message }) => assert!(message.contains("100 ms"), "{message}"),
            other => panic!("{other:?}"),
        }
        let used = crate::process::thread_cpu_time() - cpu;
        assert!(used >= Duration::from_millis(100) && used < Duration::from_millis(1000), "{used:?}");
        // The store is usable after the abandoned call.
        assert_eq!(call(&mut w, "(module (func (export \"one\") (result i32) (i32.const 1)))", "one"), Ok(vec![Value::I32(1)]));
    }

    #[test]
    fn a_runaway_start_function_ends_as_an_interrupt() {
        let mut w = wasmi(50);
        let module = w.compile(&wat::parse_str("(module (func $spin (loop (br 0))) (start $spin))").unwrap()).unwrap();
        assert!(module.start);
        let failure = w.instantiate(&module).unwrap_err();
        assert_eq!(failure.trap, Some(TrapCode::Interrupt), "{}", failure.message);
    }

    #[test]
    fn a_detached_start_function_still_runs_before_anything_else() {
        let mut w = wasmi(10_000);
        let wat = r#"(module (global $g (mut i32) (i32.const 0)) (func $init (global.set $g (i32.const 7)))
            (start $init) (func (export "g") (result i32) (global.get $g)))"#;
        assert_eq!(call(&mut w, wat, "g"), Ok(vec![Value::I32(7)]));
        // Without an export section of its own.
        let module = w.compile(&wat::parse_str("(module (func $t unreachable) (start $t))").unwrap()).unwrap();
        assert_eq!(w.instantiate(&module).unwrap_err().trap, Some(TrapCode::UnreachableCodeReached));
    }

    #[test]
    fn leb128_round_trips() {
        for v in [0u32, 1, 127, 128, 300, 1 << 21, u32::MAX] {
            let mut b = Vec::new();
            push_leb(&mut b, v);
            assert_eq!(leb_u32(&b), Some((v, b.len())), "{v}");
        }
        // Padded encodings, which hand-written binary modules use.
        assert_eq!(leb_u32(&[0x81, 0x80, 0x80, 0x00]), Some((1, 4)));
    }

    /// The feature set is wasmi's own: what it claims it accepts, what it
    /// lacks it refuses, with every switch of its `Config` on.
    #[test]
    fn wasmi_accepts_what_it_claims_and_refuses_what_it_lacks() {
        let mut all_on = Config::default();
        all_on.wasm_custom_page_sizes(true).wasm_wide_arithmetic(true);
        let engine = Engine::new(&all_on);
        let claimed = [
            ("tail calls", "(module (func $f (return_call $f)))"),
            ("extended const", "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))"),
            ("multiple memories", "(module (memory 1) (memory 1))"),
            ("64-bit memories", "(module (memory i64 1))"),
            ("relaxed SIMD", "(module (func (param v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 0))))"),
            ("custom page sizes", "(module (memory 1 (pagesize 1)))"),
            ("wide arithmetic", "(module (func (param i64 i64) (result i64 i64) (i64.mul_wide_s (local.get 0) (local.get 1))))"),
        ];
        let lacking = [
            ("garbage collection", "(module (type (struct (field i32))))"),
            ("typed function references", "(module (type $t (func)) (func (param (ref $t))))"),
            ("exception handling", "(module (tag))"),
            ("threads", "(module (memory 1 1 shared))"),
            ("stack switching", "(module (type $f (func)) (type (cont $f)))"),
        ];
        for (name, wat) in claimed {
            let bytes = wat::parse_str(wat).unwrap();
            assert!(Module::new(&engine, &bytes).is_ok(), "{name}");
            assert!(validate(&bytes, WASMI_FEATURES).is_ok(), "{name}");
        }
        for (name, wat) in lacking {
            let bytes = wat::parse_str(wat).unwrap();
            assert!(Module::new(&engine, &bytes).is_err(), "{name}");
            assert!(validate(&bytes, WASMI_FEATURES).is_err(), "{name}");
            assert!(validate(&bytes, WasmFeatures::all()).is_ok(), "{name}");
        }
    }

    #[test]
    fn a_module_needing_a_lacking_proposal_is_skipped_with_its_name() {
        let mut w = wasmi(10_000);
        let cases = [
            ("(module (type (struct (field i32))) (func (param (ref null 0))))", "wasmi 2.0.0 does not implement garbage collection"),
            ("(module (type $t (func)) (func (param (ref $t))))", "wasmi 2.0.0 does not implement typed function references"),
            ("(module (tag))", "wasmi 2.0.0 does not implement exception handling"),
        ];
        for (wat, reason) in cases {
            match w.compile(&wat::parse_str(wat).unwrap()) {
                Err(Missing::Unavailable(r)) => assert_eq!(r, reason, "{wat}"),
                Err(other) => panic!("{wat}: {other:?}"),
                Ok(_) => panic!("{wat}: compiled"),
            }
        }
        // An invalid module that is invalid whatever wasmi lacks is judged.
        let invalid = wat::parse_str("(module (func (result i32)))").unwrap();
        assert!(matches!(w.judge(&invalid), Verdict::Rejected(_)));
        // One whose first problem is a lacking proposal is not.
        let invalid_gc = wat::parse_str("(module (type (struct)) (func (result i32)))").unwrap();
        assert!(matches!(w.judge(&invalid_gc), Verdict::Skipped(r) if r.contains("garbage collection")));
    }

    #[test]
    fn the_profile_applies_on_top() {
        assert_eq!(wasmi_features(WasmProfile::Wasm3), WASMI_FEATURES.difference(WasmFeatures::CUSTOM_PAGE_SIZES | WasmFeatures::WIDE_ARITHMETIC));
        assert!(!wasmi_features(WasmProfile::Wasm2).contains(WasmFeatures::TAIL_CALL));
        let mut w = Wasmi::new(WasmProfile::Wasm2, Duration::from_secs(10)).unwrap();
        match w.compile(&wat::parse_str("(module (func $f (return_call $f)))").unwrap()) {
            Err(Missing::Unavailable(r)) => assert!(r.contains("Wasm 2.0 feature set"), "{r}"),
            other => panic!("{:?}", other.err()),
        }
        // The proposal names are the profile table's.
        let table = crate::wasm::profile_table(WasmProfile::Wasm3, &[crate::model::ExecutionModel::from_name("wasm").unwrap()]);
        for (name, _) in WASM3_PROPOSALS {
            assert!(table[0].contains(name), "{name}: {table:?}");
        }
    }
}
