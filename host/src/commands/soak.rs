//! `faultbox soak`: many trap-and-recover cycles of one scenario in one
//! wasm worker (see `worker::soak`), watching the worker's resident set.

use crate::model::EngineConfig;
use crate::protocol::{Message, Request, SoakReport, SoakRequest};
use crate::scenario::Scenario;
use crate::supervisor::Supervisor;
use crate::worker::WorkerKind;

/// Soaks scenario `s` in wasm model `model`: `cycles` cycles, or with
/// `seconds`, as many as fit. The scenario must end by itself
/// ([`super::cycles_by_itself`]). A lost worker is an error here: a soak
/// has no outcome to give it.
pub fn soak(
    supervisor: &Supervisor,
    s: &Scenario,
    model: EngineConfig,
    cycles: Option<u64>,
    seconds: Option<u64>,
) -> anyhow::Result<SoakReport> {
    super::cycles_by_itself(s)?;
    let w = Supervisor::wasm_request_of(s, model)?;
    let request = SoakRequest {
        model,
        module: w.module,
        export: w.export,
        arg: w.arg,
        limits: w.limits,
        cycles: if seconds.is_some() { None } else { Some(cycles.unwrap_or(100_000)) },
        seconds,
    };
    let deadline = std::time::Duration::from_secs(seconds.unwrap_or(0) + 24 * 3600);
    // A soak by time has no count to show progress against.
    let progress = request.cycles.map(|n| super::progress::WorkerProgress::new("cycles", n));
    let answer = supervisor.pool().call(WorkerKind::Wasm(model), &Request::Soak(request), deadline);
    drop(progress);
    match answer.map_err(|e| anyhow::Error::from(e).context("the soak's wasm worker"))? {
        Message::Soak(mut r) => {
            r.classes = crate::classify::cycle_classes(&std::mem::take(&mut r.traps), &[]);
            Ok(r)
        }
        other => anyhow::bail!("the worker answered {other:?}"),
    }
}
