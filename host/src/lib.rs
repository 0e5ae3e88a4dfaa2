//! faultbox: when guest code faults, which execution model survives it,
//! detects it and recovers — and at what cost?
//!
//! The same scenarios, written as guests in several languages (Rust, Go,
//! C, hand-written wat, or a user's own module or program), run in wasm
//! (an engine of the registry, wasmtime or wasmi, in a worker process) and natively (a forked child, or a
//! program exec'd from it); the supervisor classifies every ending into one
//! taxonomy and the reporter shows them side by side.
//!
//! # Layers
//!
//! Each module belongs to one layer and names only modules of its own layer
//! or lower ones; `tests/layering.rs` holds this (its table is this list).
//!
//! 0. vocabulary: [`outcome`] (fault class, verdict, containment),
//!    [`limits`], [`model`] (execution models, guest languages),
//!    [`registry`] (the wasm engine configurations, one row each), [`error`]
//!    (bad input), [`host_ops`] (the guest ABI's host operations),
//!    [`process`] (the platform: Linux calls), [`trust`] (what faultbox
//!    may believe on disk: private directories, its key, MACs).
//! 1. [`protocol`]: supervisor ↔ worker messages, one file per job (wasm,
//!    native, wast, bench, soak, fuzz).
//! 2. worker-side engines: [`wasm`], [`native`], [`worker`] (the worker's
//!    server and each job's worker-side execution); they report facts and
//!    never name the catalog, the classifier or the supervisor.
//! 3. [`scenario`] (manifests, the catalog), [`classify`] (facts to fault
//!    classes and verdicts: the one home of classification), [`language`]
//!    (one descriptor per guest language: build, launch, how it dies).
//! 4. `worker::client` (spawning workers, one result type per call),
//!    `worker::guard` (the watch on workers' memory, how many compile at
//!    once) and
//!    [`supervisor`] (runs scenarios through workers, never guest code).
//! 5. [`commands`]: each command's orchestration, returning a result.
//! 6. [`report`]: renderings.
//! 7. [`cli`] and `main`.

// One clear sentence instead of a page of unresolved `libc` items.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "faultbox runs on Linux only: it needs pidfd, signalfd, prctl, close_range, /proc and fork-server semantics (see host/src/process.rs)"
);

pub mod classify;
pub mod cli;
pub mod error;
pub mod host_ops;
pub mod language;
pub mod limits;
pub mod model;
pub mod native;
pub mod process;
pub mod registry;
pub mod outcome;
pub mod report;
pub mod scenario;
pub mod commands;
pub mod protocol;
pub mod supervisor;
pub mod trust;
pub mod wasm;
pub mod worker;
