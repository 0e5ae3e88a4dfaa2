//! Worker processes: the wasm worker (wasmtime embedded) and the fork
//! server (native children). The supervisor talks to them with
//! [`protocol`] messages.
//!
//! Layer 2, the workers' side: [`server`] (the request loop) and each
//! job's execution in the worker: [`bench`](mod@bench), [`soak`], [`wast`] (a run is
//! `wasm`'s or `native`'s, a fuzz module `wasm::random`'s). They report
//! facts; `classify` decides.
//!
//! Layer 4: [`client`], the supervisor's side (spawning, calls, one result
//! type), and [`guard`], its watch on the workers' memory and on how many
//! modules compile at once, which `tests/layering.rs` places above the
//! catalog.

pub mod adapter;
pub mod bench;
pub mod client;
pub mod guard;
pub mod server;
pub mod soak;
pub mod wast;

/// The protocol, where it was before it became a layer of its own: kept
/// for code written against the old path (`native/exec.rs`, in progress);
/// new code names `crate::protocol`.
pub use crate::protocol;

use crate::model::{ExecutionModel, EngineConfig};

/// Which worker process serves a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkerKind {
    /// One wasm worker per wasm model: a model without signal handlers must
    /// not share a process with one that installed them.
    Wasm(EngineConfig),
    /// The fork server.
    Native,
}

impl WorkerKind {
    pub fn for_model(model: ExecutionModel) -> WorkerKind {
        model.wasm_engine().map_or(WorkerKind::Native, WorkerKind::Wasm)
    }

    /// The hidden `faultbox worker <arg>` that starts this worker.
    pub fn arg(self) -> &'static str {
        match self {
            WorkerKind::Native => "native",
            WorkerKind::Wasm(m) => m.name(),
        }
    }

    pub fn from_arg(arg: &str) -> Option<WorkerKind> {
        Some(WorkerKind::for_model(ExecutionModel::from_name(arg)?))
    }
}
