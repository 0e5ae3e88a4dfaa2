//! wasmi as a faultbox backend (in progress on this branch).

#[allow(dead_code)]
mod engine;
#[allow(dead_code)]
mod imports;
#[allow(dead_code)]
mod traps;
#[allow(dead_code)]
mod budget;
#[allow(dead_code)]
mod wasi;

use super::backend::{Backend, Called, Entry, GuestReports, Instance, Instantiated, StateView};
use crate::model::EngineConfig;
use crate::protocol::{HealthCheck, WasmRequest};
use faultbox_guests::host::HostOp;
use std::time::Duration;

pub struct Wasmi {
    _config: EngineConfig,
    _announce: fn(HostOp),
}

impl Wasmi {
    pub fn new(config: EngineConfig, announce: fn(HostOp)) -> Wasmi {
        Wasmi { _config: config, _announce: announce }
    }
}

pub struct WasmiInstance;

impl Backend for Wasmi {
    type Instance = WasmiInstance;
    fn prepare(&mut self, _req: &WasmRequest) -> anyhow::Result<Result<(), String>> {
        anyhow::bail!("the wasmi backend is not built yet")
    }
    fn instantiate(&mut self, _req: &WasmRequest) -> anyhow::Result<Instantiated<WasmiInstance>> {
        anyhow::bail!("the wasmi backend is not built yet")
    }
}

impl Instance for WasmiInstance {
    fn check_entry(&mut self, _entry: &Entry) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn call(&mut self, _entry: &Entry, _arg: i64, _budget: Duration) -> Called {
        unimplemented!()
    }
    fn health(&mut self, _budget: Duration) -> HealthCheck {
        unimplemented!()
    }
    fn state(&mut self) -> StateView<'_> {
        unimplemented!()
    }
    fn reports(&mut self) -> GuestReports {
        unimplemented!()
    }
}
