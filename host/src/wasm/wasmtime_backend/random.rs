//! Running an arbitrary module (`faultbox fuzz`): compile it, instantiate
//! it (which runs its start function, if any), then call its exported
//! functions in export order, at most `max_calls` of them, whatever their
//! parameters: each argument is its type's default (zero, or a null
//! reference); a function with a parameter type that has no default is
//! recorded as an error, not called. The instantiation and every call each
//! run under a fresh fuel budget, an epoch deadline and the store's memory
//! limit.

use super::{Allocation, EngineSpec, RunState, WasmRunner, trap};
use crate::protocol::{FuzzEnding, FuzzReport, FuzzRequest};
use crate::model::EngineConfig;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use wasmtime::{Linker, Module, Store, Val};

fn ending(result: std::thread::Result<wasmtime::Result<()>>) -> FuzzEnding {
    match result {
        Ok(Ok(())) => FuzzEnding::Completed,
        Ok(Err(e)) => match trap::trap_of(&e) {
            Some(code) => FuzzEnding::Trapped(code),
            None => FuzzEnding::Error(format!("{e:#}").lines().next().unwrap_or_default().to_string()),
        },
        Err(_) => FuzzEnding::Error("host panic".into()),
    }
}

/// Runs one random module (in a wasm worker). `compiled` is called once
/// the module is compiled (or refused): compiling has its own budget.
pub fn run(runner: &mut WasmRunner, model: EngineConfig, req: &FuzzRequest, compiled: impl FnOnce()) -> anyhow::Result<FuzzReport> {
    let started = Instant::now();
    let spec = EngineSpec { allocation: Allocation::OnDemand, backtraces: false, fuel: true, ..EngineSpec::new(model, 512) };
    let engine = runner.engine_set(spec)?.engine.clone();
    let watchdog = runner.watchdog();
    let mut report = FuzzReport { compile_error: None, instantiate: None, calls: Vec::new(), wall_us: 0 };
    // Random modules are never cached: each is compiled once and dropped.
    let module = Module::new(&engine, &req.module);
    compiled();
    let module = match module {
        Ok(m) => m,
        Err(e) => {
            report.compile_error = Some(format!("{e:#}").lines().next().unwrap_or_default().to_string());
            report.wall_us = started.elapsed().as_micros() as u64;
            return Ok(report);
        }
    };
    let mut store = Store::new(&engine, RunState::new(req.memory_bytes, |_| {}));
    store.limiter(|s| &mut s.limiter);
    let deadline = Duration::from_millis(req.timeout_ms);
    let linker: Linker<RunState> = Linker::new(&engine);

    store.set_fuel(req.fuel).map_err(anyhow::Error::from)?;
    store.set_epoch_deadline(1);
    watchdog.arm(&engine, deadline);
    let instance = catch_unwind(AssertUnwindSafe(|| linker.instantiate(&mut store, &module)));
    watchdog.disarm();
    let instance = match instance {
        Ok(Ok(i)) => {
            report.instantiate = Some(FuzzEnding::Completed);
            i
        }
        Ok(Err(e)) => {
            report.instantiate = Some(ending(Ok(Err(e))));
            report.wall_us = started.elapsed().as_micros() as u64;
            return Ok(report);
        }
        Err(p) => {
            report.instantiate = Some(ending(Err(p)));
            report.wall_us = started.elapsed().as_micros() as u64;
            return Ok(report);
        }
    };
    let funcs: Vec<(String, wasmtime::Func)> = instance
        .exports(&mut store)
        .filter_map(|e| {
            let name = e.name().to_string();
            e.into_func().map(|f| (name, f))
        })
        .take(req.max_calls as usize)
        .collect();
    for (name, func) in funcs {
        let ty = func.ty(&store);
        let args: Option<Vec<Val>> = ty.params().map(|p| Val::default_for_ty(&p)).collect();
        let Some(args) = args else {
            report.calls.push((name, FuzzEnding::Error("a parameter type has no default value".into())));
            continue;
        };
        let mut results: Vec<Val> = ty.results().map(|r| Val::default_for_ty(&r).unwrap_or(Val::I32(0))).collect();
        store.set_fuel(req.fuel).map_err(anyhow::Error::from)?;
        store.set_epoch_deadline(1);
        watchdog.arm(&engine, deadline);
        let result = catch_unwind(AssertUnwindSafe(|| func.call(&mut store, &args, &mut results)));
        watchdog.disarm();
        report.calls.push((name, ending(result)));
    }
    report.wall_us = started.elapsed().as_micros() as u64;
    Ok(report)
}
