//! Worker processes: the wasm worker (wasmtime embedded) and the fork
//! server (native children). The supervisor talks to them with
//! [`protocol`] messages; [`client`] is its side, [`server`] theirs.

pub mod bench;
pub mod client;
pub mod server;
pub mod soak;
pub mod wast;

/// The protocol, where it was before it became a layer of its own.
pub use crate::protocol;

use crate::model::{ExecutionModel, WasmEngine};

/// Which worker process serves a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkerKind {
    /// One wasm worker per wasm model: a model without signal handlers must
    /// not share a process with one that installed them.
    Wasm(WasmEngine),
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
