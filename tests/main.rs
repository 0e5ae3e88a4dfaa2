//! faultbox's integration tests, one binary: the comparison suite (one
//! trial per scenario, language and model) and every other test module as
//! trials of the same run. One binary links faultbox and its engines once,
//! where one per module linked them eighteen times.
//!
//! `cargo test --release -- <filter>` filters as libtest does: `null_write`
//! runs that scenario everywhere, `::go::` every Go guest, `hostile::` one
//! module.
//!
//! Two phases. First every trial that can share the machine, in parallel.
//! Then, one at a time, those that must be alone: the hygiene check, which
//! counts this process's children and descriptors after the comparison
//! suite's full compare, and the trials on the full run beside busy loops
//! (`common::full_run`), whose hogs must load no other trial.

mod common;

mod bad_input;
mod bench_command;
mod bring_your_own;
mod comparison;
mod exports;
mod go_wasm;
mod hostile;
mod hostile_native;
mod hostile_wasmres;
mod hostile_tools;
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

/// Trials of the second phase, by name prefix, in the order they run:
/// the hygiene check first, before any other leaves something behind.
const ALONE: &[&str] = &[
    "hygiene::",
    // It counts this process's workers by their command line.
    "hostile::an_idle_worker_that_died_is_not_blamed_on_the_next_run",
    "load::",
    "exports::the_json_report_follows_the_shipped_schema",
    "terminal::compare_fits_80_columns_in_a_pipe",
];

fn alone_rank(name: &str) -> Option<usize> {
    ALONE.iter().position(|p| name.starts_with(p))
}

fn main() {
    let args = Arguments::from_args();
    hygiene::record_baseline();
    let supervisor = Arc::new(Supervisor::new(PathBuf::from(env!("CARGO_BIN_EXE_faultbox"))));
    let mut trials = comparison::trials(&supervisor);
    for module in [
        bad_input::trials,
        bench_command::trials,
        bring_your_own::trials,
        exports::trials,
        go_wasm::trials,
        hostile::trials,
        hostile_native::trials,
        hostile_wasmres::trials,
        hostile_tools::trials,
        hygiene::trials,
        layering::trials,
        load::trials,
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
    let (mut alone, together): (Vec<_>, Vec<_>) = trials.into_iter().partition(|t| alone_rank(t.name()).is_some());
    alone.sort_by_key(|t| alone_rank(t.name()));
    let first = libtest_mimic::run(&args, together);
    // The comparison suite's workers end here: what they leave is the
    // hygiene check's to find.
    supervisor.pool().shutdown();
    drop(supervisor);
    let second = libtest_mimic::run(&Arguments { test_threads: Some(1), ..args }, alone);
    if first.has_failed() || second.has_failed() {
        std::process::exit(101);
    }
}
