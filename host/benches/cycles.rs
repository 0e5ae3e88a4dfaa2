//! `cargo bench`: the fault-to-usable-again cycle of each execution model,
//! the same cycles `faultbox bench` measures (see `faultbox::bench`).
//!
//! - wasm models (in this process): a fresh pooled instance, the faulting
//!   call, the trap classified, and the faulted instance handed to the
//!   reaper thread, which drops it back into the pool off the measured
//!   thread (its drop is not in the figure);
//! - native: one run through a fork-server worker, as the supervisor's
//!   round trip sees it: the request written to the worker's pipe, fork,
//!   fault, wait4, the observation read back and parsed. Not classified:
//!   no fault class is computed here (the supervisor's classification is
//!   not part of this figure, unlike the wasm cycles');
//! - native fork+exec: a fresh faultbox worker per run, waited for (no
//!   observation, no classification).

use faultbox::limits::Limits;
use faultbox::model::EngineConfig;
use faultbox::wasm::cycle::TrapCycle;
use faultbox::wasm::{EngineSpec, ModuleCache};
use faultbox::protocol::{Message, ModuleSource, NativeRequest, Request};
use faultbox::worker::{WorkerKind, client::Worker};
use std::path::Path;
use std::time::Duration;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");
/// The cheapest fault: wasm `unreachable`, native `ud2`.
const ENTRY: &str = "trap_instruction";

fn main() {
    // As in faultbox's own workers: a std backtrace captured with every
    // wasmtime error would triple the cost of a wasm trap.
    // SAFETY: no other thread exists yet.
    unsafe {
        std::env::set_var("RUST_BACKTRACE", "0");
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    divan::main();
}

fn wasm_cycle(bencher: divan::Bencher, model: EngineConfig) {
    let limits = Limits::default();
    let cycle = TrapCycle::new(
        EngineSpec::new(model, limits.wasm_stack_kib),
        &ModuleSource::Bytes(faultbox::wasm::GUEST_WASM.to_vec()),
        &format!("fb_{ENTRY}"),
        0,
        &limits,
        &ModuleCache::from_env(),
    )
    .expect("prepare the wasm cycle");
    bencher.bench_local(|| cycle.once().expect("cycle"));
}

#[divan::bench(sample_count = 2000)]
fn wasm_signals(bencher: divan::Bencher) {
    wasm_cycle(bencher, EngineConfig::Cranelift);
}

#[divan::bench(sample_count = 2000)]
fn wasm_explicit_checks(bencher: divan::Bencher) {
    wasm_cycle(bencher, EngineConfig::Explicit);
}

#[divan::bench(sample_count = 2000)]
fn wasm_pulley(bencher: divan::Bencher) {
    wasm_cycle(bencher, EngineConfig::Pulley);
}

fn native_request() -> NativeRequest {
    NativeRequest { entry: ENTRY.into(), arg: 0, limits: Limits::default(), backtrace: false, exec: None, library: None, inject: None }
}

#[divan::bench(sample_count = 200)]
fn native_fork_server(bencher: divan::Bencher) {
    let mut worker = Worker::spawn(Path::new(FAULTBOX), WorkerKind::Native).expect("start the fork server");
    let request = Request::Native(native_request());
    bencher.bench_local(|| match worker.call(&request, Duration::from_secs(30)) {
        Ok(Message::Native(obs)) => obs,
        other => panic!("unexpected answer: {other:?}"),
    });
    worker.shutdown();
}

#[divan::bench(sample_count = 100)]
fn native_fork_exec(bencher: divan::Bencher) {
    let json = serde_json::to_string(&native_request()).unwrap();
    let deadline = Duration::from_millis(Limits::default().timeout_ms);
    bencher.bench_local(|| faultbox::native::exec_cycle(Path::new(FAULTBOX), &json, deadline).expect("spawn"));
}
