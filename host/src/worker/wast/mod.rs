//! Running a spec script in the worker (`faultbox wast`): one store per
//! script, modules linked against `spectest` and against each other by
//! `register`.
//!
//! The directive walk is the same for every engine and lives here, over
//! [`SpecEngine`]: which module a name stands for, what becomes of a module
//! that could not be made (skipped or failed, and everything that depends
//! on it with it), how values are compared. Each engine says only how it
//! compiles, links, calls and reads a global:
//!
//! - [`wasmtime`](mod@wasmtime): wasmtime, under the epoch watchdog.
//! - [`wasmi`](mod@wasmi): the wasmi interpreter, under a fuel-sliced CPU
//!   budget.
//! - [`script`]: reading a script (the supervisor checks it with this too).
//! - [`cap`]: what a script's store may take (memories, tables), the same
//!   for every embedded engine.
//! - [`values`]: `assert_return`'s expected values against returned ones,
//!   through an engine-neutral value.

pub mod cap;
pub mod script;
pub mod values;
pub mod wasmi;
pub mod wasmtime;

pub use self::wasmi::run_wasmi;
pub use self::wasmtime::{engine, run};

use crate::outcome::TrapCode;
use crate::protocol::{DirectiveResult, Observed, UNCAUGHT, WastObservation, WastRequest};
use script::Beyond;
use std::collections::HashMap;
use values::Value;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, WastRet};

/// Why a module the script gives as valid could not be made.
#[derive(Clone, Debug)]
pub enum Missing {
    /// It needs what the engine, or faultbox's build of it, does not
    /// enable: what depends on it is skipped.
    Unavailable(String),
    /// It should have worked and did not: what depends on it failed.
    Broken(String),
}

/// What an engine says of a module the script says is invalid or
/// malformed.
#[derive(Clone, Debug)]
pub enum Verdict {
    Accepted,
    /// Rejected by the decoder or validator, with the engine's message.
    Rejected(String),
    /// The engine cannot judge it: it uses a proposal the engine lacks.
    Skipped(String),
}

/// Why instantiation failed.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The trap, when a start function or an initializer trapped.
    pub trap: Option<TrapCode>,
    pub message: String,
}

impl Failure {
    pub fn observed(self) -> Observed {
        match self.trap {
            Some(trap) => Observed::Trapped { trap, message: self.message },
            None => Observed::Failed { message: self.message },
        }
    }
}

/// One engine's side of a spec script, in one store: everything the
/// directive walk needs and nothing it decides.
pub trait SpecEngine {
    type Module: Clone;
    type Instance: Clone;

    /// The reason a directive that needs `what` is skipped, in this
    /// engine's words.
    fn beyond(&self, what: Beyond) -> &'static str;

    /// Compiles a module the script gives as valid.
    fn compile(&mut self, bytes: &[u8]) -> Result<Self::Module, Missing>;

    /// Judges a module the script says must not decode or validate.
    fn judge(&mut self, bytes: &[u8]) -> Verdict;

    /// Links `module` against `spectest` and the registered instances and
    /// instantiates it, running its start function under the request's
    /// CPU budget.
    fn instantiate(&mut self, module: &Self::Module) -> Result<Self::Instance, Failure>;

    /// The module names `module` imports from.
    fn import_modules(&self, module: &Self::Module) -> Vec<String>;

    /// Makes `instance`'s exports importable as `name`.
    fn register(&mut self, name: &str, instance: &Self::Instance) -> Result<(), String>;

    /// Calls export `name` under the request's CPU budget: the values it
    /// returned, or what happened instead (a trap, a failure, or a skip
    /// for an argument the engine cannot represent).
    fn call(&mut self, instance: &Self::Instance, name: &str, args: &[Value]) -> Result<Vec<Value>, Observed>;

    /// The value of exported global `name`.
    fn global(&mut self, instance: &Self::Instance, name: &str) -> Result<Value, Observed>;

    /// Growth the store's cap ([`cap::StoreCap`]) refused since the last
    /// call, that the module's own types allowed: the directive that asked
    /// for it fails with this. `None` for an engine that cannot tell.
    fn take_refusal(&mut self) -> Option<String> {
        None
    }
}

/// A module slot: an instance, or why there is none.
#[derive(Clone)]
enum Slot<I> {
    Ready(I),
    Missing(Missing),
}

impl Missing {
    /// What a directive that needs this missing module observed.
    fn observed(self) -> Observed {
        match self {
            Missing::Broken(message) => Observed::Failed { message },
            Missing::Unavailable(reason) => Observed::Skipped { reason },
        }
    }
}

impl<I> Slot<I> {
    /// What the directive that made this slot observed.
    fn made(&self) -> Observed {
        match self {
            Slot::Ready(_) => Observed::Accepted,
            Slot::Missing(m) => m.clone().observed(),
        }
    }
}

struct Runner<E: SpecEngine> {
    engine: E,
    current: Option<Slot<E::Instance>>,
    named: HashMap<String, Slot<E::Instance>>,
    definitions: HashMap<String, Result<E::Module, Missing>>,
    /// Registered names whose module was unavailable, and why.
    unavailable_imports: HashMap<String, String>,
}

/// Runs one script in `engine` and reports every directive.
pub fn run_in<E: SpecEngine>(engine: E, req: &WastRequest) -> anyhow::Result<WastObservation> {
    let text = match &req.text {
        Some(text) => text.clone(),
        None => script::read(&req.path)?,
    };
    let mut runner = Runner {
        engine,
        current: None,
        named: HashMap::new(),
        definitions: HashMap::new(),
        unavailable_imports: HashMap::new(),
    };
    let observation = script::with_directives(&req.path, &text, |directives| {
        let mut obs = WastObservation { directives: Vec::new() };
        let mut lines = script::Lines::new(&text);
        for d in directives {
            let line = lines.at(d.span().offset());
            obs.directives.push(runner.directive(d, line));
        }
        obs
    })?;
    Ok(observation)
}

fn expected_text(r: &WastRet<'_>) -> String {
    match r {
        WastRet::Core(c) => values::pattern_text(c),
        #[allow(unreachable_patterns)]
        _ => "a component value".to_string(),
    }
}

impl<E: SpecEngine> Runner<E> {
    /// Runs one directive and says what happened: a directive that asked
    /// for more memory or table than the store's cap allows fails, with
    /// the cap named, whatever it observed after the refusal.
    fn directive(&mut self, d: WastDirective<'_>, line: usize) -> DirectiveResult {
        let mut result = self.run_directive(d, line);
        if let Some(message) = self.engine.take_refusal() {
            result.observed = Observed::Failed { message };
        }
        result
    }

    fn run_directive(&mut self, d: WastDirective<'_>, line: usize) -> DirectiveResult {
        let kind = script::kind(&d).to_string();
        let result = |expected: &str, observed: Observed| DirectiveResult { line: u32::try_from(line).unwrap_or(u32::MAX), kind, expected: expected.to_string(), observed };
        // What faultbox cannot run is reported, with why, and the script
        // goes on; a module that cannot be made leaves its name unavailable.
        if let Some((what, beyond)) = script::unsupported(&d) {
            let reason = format!("{what}: {}", self.engine.beyond(beyond));
            let missing = Missing::Unavailable(reason.clone());
            match &d {
                WastDirective::Module(q) => {
                    if let Some(id) = q.name() {
                        self.named.insert(id.name().to_string(), Slot::Missing(missing.clone()));
                    }
                    self.current = Some(Slot::Missing(missing));
                }
                WastDirective::ModuleDefinition(q) => {
                    let name = q.name().map(|id| id.name().to_string()).unwrap_or_default();
                    self.definitions.insert(name, Err(missing));
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
                    Err(missing) => Slot::Missing(missing),
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
                    Err(missing) => missing.clone().observed(),
                };
                self.definitions.insert(name, module);
                result("compiles", observed)
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let def = module.map(|m| m.name().to_string()).unwrap_or_default();
                let slot = match self.definitions.get(&def).cloned() {
                    Some(Ok(module)) => self.instantiate(&module),
                    Some(Err(missing)) => Slot::Missing(missing),
                    None => Slot::Missing(Missing::Broken(format!("no module definition `{def}`"))),
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
                    Slot::Ready(instance) => match self.engine.register(name, &instance) {
                        Ok(()) => Observed::Accepted,
                        Err(message) => {
                            self.unavailable_imports.insert(name.to_string(), message.clone());
                            Observed::Failed { message }
                        }
                    },
                    Slot::Missing(missing) => {
                        let (Missing::Unavailable(reason) | Missing::Broken(reason)) = &missing;
                        self.unavailable_imports.insert(name.to_string(), reason.clone());
                        missing.observed()
                    }
                };
                result("registers", observed)
            }
            WastDirective::Invoke(invoke) => {
                let observed = match self.invoke(&invoke) {
                    Ok(values) => Observed::Values { values: values.iter().map(values::value_text).collect(), mismatch: None },
                    Err(observed) => observed,
                };
                result("returns", observed)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let expected: Vec<String> = results.iter().map(expected_text).collect();
                let observed = match self.execute(exec) {
                    Ok(values) => compare(&values, &results),
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
            // Only that the module is rejected is compared: the engines'
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
        match self.engine.judge(&bytes) {
            Verdict::Accepted => Observed::Accepted,
            Verdict::Rejected(message) => Observed::Rejected { stage: "decode or validate".into(), message },
            Verdict::Skipped(reason) => Observed::Skipped { reason },
        }
    }

    /// `assert_unlinkable`: a valid module that must fail to link. Its
    /// start function runs under the same budget as any other guest code
    /// (a failed link may still have initialised tables and memories it
    /// shares).
    fn unlinkable(&mut self, mut q: QuoteWat<'_>) -> Observed {
        let module = match self.compile(&mut q) {
            Ok(m) => m,
            Err(missing) => return missing.observed(),
        };
        match self.engine.instantiate(&module) {
            Ok(_) => Observed::Accepted,
            Err(failure @ Failure { trap: Some(_), .. }) => failure.observed(),
            Err(failure) => match self.link_failure(&module) {
                Some(reason) => Observed::Skipped { reason },
                None => Observed::Rejected { stage: "link or instantiate".into(), message: failure.message },
            },
        }
    }

    fn compile(&mut self, q: &mut QuoteWat<'_>) -> Result<E::Module, Missing> {
        let bytes = q.encode().map_err(|e| Missing::Broken(format!("cannot encode the module: {}", e.message())))?;
        self.engine.compile(&bytes)
    }

    fn instantiate(&mut self, module: &E::Module) -> Slot<E::Instance> {
        match self.engine.instantiate(module) {
            Ok(instance) => Slot::Ready(instance),
            Err(failure) => Slot::Missing(match (self.engine.take_refusal(), self.link_failure(module)) {
                // The cap's refusal is the cause, and what depends on the
                // module fails with it named.
                (Some(refusal), _) => Missing::Broken(format!("instantiation failed: {refusal}")),
                (None, Some(reason)) => Missing::Unavailable(reason),
                (None, None) => Missing::Broken(format!("instantiation failed: {}", failure.message)),
            }),
        }
    }

    /// Why instantiation failed when `module` imports from a registered
    /// name whose module was unavailable: that is the cause, and what
    /// depends on it is skipped, not failed.
    fn link_failure(&self, module: &E::Module) -> Option<String> {
        self.engine.import_modules(module).into_iter().find_map(|import| {
            let reason = self.unavailable_imports.get(&import)?;
            Some(format!("imports from `{import}`, which is unavailable: {reason}"))
        })
    }

    fn slot(&self, id: Option<&str>) -> Slot<E::Instance> {
        let unavailable = |why: String| Slot::Missing(Missing::Unavailable(why));
        match id {
            Some(name) => self.named.get(name).cloned().unwrap_or_else(|| unavailable(format!("no module `{name}`"))),
            None => self.current.clone().unwrap_or_else(|| unavailable("no module defined yet".into())),
        }
    }

    /// Runs an action: the values it returned, or what happened instead.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Value>, Observed> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let bytes = wat.encode().map_err(|e| Observed::Failed { message: e.message() })?;
                let module = self.engine.compile(&bytes).map_err(Missing::observed)?;
                match self.engine.instantiate(&module) {
                    Ok(_) => Ok(Vec::new()),
                    Err(failure @ Failure { trap: Some(_), .. }) => Err(failure.observed()),
                    Err(failure) => Err(match self.link_failure(&module) {
                        Some(reason) => Observed::Skipped { reason },
                        None => failure.observed(),
                    }),
                }
            }
            WastExecute::Get { module, global, .. } => match self.slot(module.map(|m| m.name())) {
                Slot::Ready(instance) => self.engine.global(&instance, global).map(|v| vec![v]),
                Slot::Missing(missing) => Err(missing.observed()),
            },
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Value>, Observed> {
        let instance = match self.slot(invoke.module.map(|m| m.name())) {
            Slot::Ready(i) => i,
            Slot::Missing(missing) => return Err(missing.observed()),
        };
        let args = invoke.args.iter().map(values::arg).collect::<Result<Vec<_>, _>>();
        let args = args.map_err(|reason| Observed::Skipped { reason })?;
        self.engine.call(&instance, invoke.name, &args)
    }
}

/// The returned values against the expected ones.
fn compare(values: &[Value], expected: &[WastRet<'_>]) -> Observed {
    let texts: Vec<String> = values.iter().map(values::value_text).collect();
    let mut mismatch = None;
    if values.len() != expected.len() {
        mismatch = Some(format!(
            "expected {} value(s) [{}], observed {} [{}]",
            expected.len(),
            expected.iter().map(expected_text).collect::<Vec<_>>().join(", "),
            values.len(),
            texts.join(", ")
        ));
    } else {
        for (i, (v, e)) in values.iter().zip(expected).enumerate() {
            let WastRet::Core(e) = e else {
                return Observed::Skipped { reason: "component values: the component model is not enabled".into() };
            };
            match values::matches(v, e) {
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

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
