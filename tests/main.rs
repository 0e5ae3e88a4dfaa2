//! faultbox's integration tests, one binary: the comparison suite (one
//! trial per scenario, language and model) and every other test module as
//! trials of the same run. One binary links faultbox and its engines once,
//! where one per module linked them eighteen times.
//!
//! `cargo test --release -- <filter>` filters as libtest does: `null_write`
//! runs that scenario everywhere, `::go::` every Go guest, `hostile::` one
//! module. The load test runs last and alone, so that its busy loops load
//! no other trial.

mod common;

mod bad_input;
mod bench_command;
mod bring_your_own;
mod comparison;
mod exports;
mod go_wasm;
mod hostile;
mod hygiene;
mod layering;
mod load;
mod native_exec;
mod native_library;
mod observations;
mod protocol_conformance;
mod reports;
mod robustness;
mod terminal;
mod wast_scripts;
mod wast_wasmi;

use faultbox::supervisor::Supervisor;
use libtest_mimic::Arguments;
use std::path::PathBuf;
use std::sync::Arc;

fn main() {
    let args = Arguments::from_args();
    let supervisor = Arc::new(Supervisor::new(PathBuf::from(env!("CARGO_BIN_EXE_faultbox"))));
    let mut trials = comparison::trials(&supervisor);
    for module in [
        bad_input::trials,
        bench_command::trials,
        bring_your_own::trials,
        exports::trials,
        go_wasm::trials,
        hostile::trials,
        hygiene::trials,
        layering::trials,
        native_exec::trials,
        native_library::trials,
        observations::trials,
        protocol_conformance::trials,
        reports::trials,
        robustness::trials,
        terminal::trials,
        wast_scripts::trials,
        wast_wasmi::trials,
    ] {
        trials.extend(module());
    }
    let conclusion = libtest_mimic::run(&args, trials);
    supervisor.pool().shutdown();
    let alone = libtest_mimic::run(&Arguments { test_threads: Some(1), ..args }, load::trials());
    if conclusion.has_failed() || alone.has_failed() {
        std::process::exit(101);
    }
}
