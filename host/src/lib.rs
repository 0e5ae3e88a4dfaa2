//! faultbox: when guest code faults, which execution model survives it,
//! detects it and recovers — and at what cost?
//!
//! The same scenarios run in wasm (wasmtime in a worker process) and
//! natively (a forked child inside `catch_unwind`); the supervisor
//! classifies every ending into one taxonomy and the reporter shows them
//! side by side.
//!
//! - [`scenario`]: manifests and the catalog.
//! - [`model`]: the execution models.
//! - [`wasm`], [`native`]: the two model implementations (they run in workers).
//! - [`worker`]: worker processes and their protocol.
//! - [`supervisor`]: runs scenarios through workers, never guest code itself.
//! - [`classify`]: observations to outcomes: the one home of classification.
//! - [`outcome`]: the shared vocabulary (fault class, verdict, containment).
//! - [`report`]: renderings of the comparison.
//! - [`spec`]: spec-test scripts (`.wast`) run and classified.

// One clear sentence instead of a page of unresolved `libc` items.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "faultbox runs on Linux only: it needs pidfd, signalfd, prctl, close_range, /proc and fork-server semantics (see host/src/process.rs)"
);

pub mod classify;
pub mod cli;
pub mod error;
pub mod host_ops;
pub mod limits;
pub mod model;
pub mod native;
pub mod process;
pub mod outcome;
pub mod report;
pub mod scenario;
pub mod commands;
pub mod protocol;
pub mod supervisor;
pub mod wasm;
pub mod worker;
