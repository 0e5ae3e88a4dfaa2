//! The wasm execution model: a wasm engine embedded in a worker process.
//!
//! Every engine family is one [`Backend`] ([`backend`]): wasmtime's three
//! configurations are [`wasmtime_backend`], wasmi is [`wasmi_backend`].
//! [`run`] drives any backend through the same run (a fresh instance, the
//! call under a CPU budget, the engine-neutral [`reuse`] diff, the health
//! check on the same instance, reuse rounds, a fresh instance's cost);
//! [`Engines`] picks the backend of a worker's configuration.

pub mod backend;
mod profile;
pub mod ready;
mod reuse;
pub mod run;
mod watchdog;
pub mod wasmi_backend;
pub mod wasmtime_backend;
pub mod wat;

pub use backend::{Backend, COMMAND_START, HEALTH_EXPORT, INIT_EXPORT, REACTOR_INIT, describe, panic_message};
pub use watchdog::{Interruptible, Watchdog};
pub use profile::{PROFILE_ENV, WasmProfile, engine_features, engine_gap, profile_table, proposal_features};
pub use wasmtime_backend::{
    Allocation, BACKTRACE_FRAMES, EngineSet, EngineSpec, ModuleCache, RunState, WasmRunner, cycle, engine_refusal,
    instantiate, random, trap_code, trap_of, wasi,
};

use crate::model::EngineConfig;
use crate::protocol::{ModuleSource, WasmObservation, WasmRequest};
use crate::registry::EngineFamily;
use faultbox_guests::host::HostOp;

/// The guest crate compiled to wasm32 by the build script.
pub static GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guests.wasm"));

/// The binary module for `source`.
pub fn module_bytes(source: &ModuleSource) -> anyhow::Result<Vec<u8>> {
    Ok(match source {
        ModuleSource::Bytes(bytes) => bytes.clone(),
        ModuleSource::File(path) => {
            std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read wasm module {}: {e}", path.display()))?
        }
    })
}

/// The backend of one worker's engine configuration.
pub enum Engines {
    Wasmtime(WasmRunner),
    Wasmi(wasmi_backend::Wasmi),
}

impl Engines {
    /// The backend for `config`; `announce` is called before host code
    /// that may kill the process runs.
    /// Panics for an adapter's configuration: `faultbox worker` refuses
    /// those before it gets here.
    pub fn new(config: EngineConfig, announce: fn(HostOp)) -> Engines {
        match config.family() {
            EngineFamily::Wasmtime => Engines::Wasmtime(WasmRunner::new(announce)),
            EngineFamily::Wasmi => Engines::Wasmi(wasmi_backend::Wasmi::new(config, announce)),
            EngineFamily::V8 | EngineFamily::Wazero => unreachable!("{config} is served by its adapter, not embedded"),
        }
    }

    /// Compiles the request's module (or finds it compiled), so that `run`
    /// spends its budget on the guest only. `Ok(Some(why))`: the engine
    /// refused the module.
    pub fn prepare(&mut self, req: &WasmRequest) -> anyhow::Result<Option<String>> {
        Ok(match self {
            Engines::Wasmtime(b) => b.prepare(req)?.err(),
            Engines::Wasmi(b) => b.prepare(req)?.err(),
        })
    }

    /// Runs one scenario. `Err` means the worker could not set the run up.
    pub fn run(&mut self, req: &WasmRequest) -> anyhow::Result<WasmObservation> {
        match self {
            Engines::Wasmtime(b) => run::run(b, req),
            Engines::Wasmi(b) => run::run(b, req),
        }
    }
}
