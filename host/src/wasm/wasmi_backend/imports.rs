//! What the wasmi worker offers a guest: the `fb` import module (the same
//! contract as wasmtime's, `wasmtime_backend/imports.rs`), the per-store
//! state the imports record into, the store's memory limiter, and the
//! table of host functions with their signatures, against which a module's
//! imports are checked before any store exists.

use crate::host_ops;
use crate::limits::Deadline;
use crate::outcome::Progress;
use crate::protocol::TailBuffer;
use crate::wasm::backend::panic_message;
use faultbox_guests::host::HostOp;
use std::panic::{AssertUnwindSafe, catch_unwind};
use wasmi::errors::HostError;
use wasmi_core::LimiterError;
use wasmi::{Caller, Extern, FuncType, IntoFunc, Linker, ResourceLimiter, StoreLimits, ValType};

/// Per-store state: what the guest reported while it ran.
pub struct RunState {
    pub limiter: Limiter,
    pub progress: Option<Progress>,
    pub guest_panic: Option<String>,
    /// The host operation in flight; cleared when it returns normally.
    pub host_call: Option<HostOp>,
    pub output: TailBuffer,
    /// Called before a host operation that may kill the process, so the
    /// supervisor learns of it before the process dies.
    pub announce: fn(HostOp),
    /// WASI preview 1's state, for WASI modules only.
    pub wasi: Option<super::wasi::WasiState>,
    /// The budget of the call in progress: every host function checks it
    /// before it works (fuel counts wasm instructions only, never time
    /// spent in the host), and one that waits (WASI `poll_oneoff`) waits no
    /// longer than its wall-clock backstop.
    pub budget: Option<super::budget::Budget>,
}

impl RunState {
    pub fn new(memory_bytes: u64, announce: fn(HostOp)) -> RunState {
        RunState {
            limiter: Limiter::new(memory_bytes),
            progress: None,
            guest_panic: None,
            host_call: None,
            output: TailBuffer::default(),
            announce,
            wasi: None,
            budget: None,
        }
    }
}

/// The store's limits (wasmi's `StoreLimits` for the number of instances,
/// memories and tables), with a memory cap that records what it refused.
/// wasmi allocates (and zero-fills) every byte of a memory when it is
/// created or grown, so fifty memories each under the cap would be fifty
/// times the cap on the host's heap: a scenario's store holds one memory
/// and one table, as a slot of wasmtime's pool does ([`Limiter::new`]); a
/// spec script's store, which holds every module of the script, caps all
/// its memories and tables together ([`Limiter::store_wide`]).
pub struct Limiter {
    pub memory_bytes: usize,
    pub refused: Vec<String>,
    counts: StoreLimits,
    /// Bytes of every memory of the store, as allowed so far (store-wide
    /// limits only).
    memory_total: usize,
    /// Elements of every table of the store, as allowed so far.
    table_total: usize,
    store_wide: bool,
}

/// Tables may grow to this many elements (as in wasmtime's limiter).
const TABLE_ELEMENTS: usize = 1 << 20;

/// Refusals recorded at most: a guest that asks in a loop is not a log.
const REFUSALS_KEPT: usize = 8;

impl Limiter {
    /// A scenario's store: one memory of at most `memory_bytes`, one
    /// table of at most `TABLE_ELEMENTS`.
    pub fn new(memory_bytes: u64) -> Limiter {
        Limiter {
            memory_bytes: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
            refused: Vec::new(),
            counts: wasmi::StoreLimitsBuilder::new().memories(1).tables(1).build(),
            memory_total: 0,
            table_total: 0,
            store_wide: false,
        }
    }

    /// A store of many modules: all its memories together at most
    /// `memory_bytes`, all its tables together `TABLE_ELEMENTS`.
    pub fn store_wide(memory_bytes: u64) -> Limiter {
        Limiter { counts: StoreLimits::default(), store_wide: true, ..Limiter::new(memory_bytes) }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> Result<bool, LimiterError> {
        let total = if self.store_wide { self.memory_total.saturating_sub(current).saturating_add(desired) } else { desired };
        if total <= self.memory_bytes {
            self.memory_total = total;
            return Ok(true);
        }
        if self.refused.len() < REFUSALS_KEPT {
            self.refused.push(format!(
                // wasmtime's wording; wasmi has no GC heap, so the memory
                // growing is always a linear memory.
                "growth of a linear memory from {} to {} refused by the store limit ({} MiB)",
                human_bytes(current),
                human_bytes(desired),
                self.memory_bytes >> 20
            ));
        }
        // `Ok(false)`: memory.grow returns -1, as the spec allows (an `Err`
        // would trap instead, `GrowthOperationLimited`).
        Ok(false)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> Result<bool, LimiterError> {
        let total = if self.store_wide { self.table_total.saturating_sub(current).saturating_add(desired) } else { desired };
        if total <= TABLE_ELEMENTS {
            self.table_total = total;
            return Ok(true);
        }
        if self.refused.len() < REFUSALS_KEPT {
            self.refused.push(format!("table.grow from {current} to {desired} elements refused by the store limit ({TABLE_ELEMENTS})"));
        }
        Ok(false)
    }

    fn instances(&self) -> usize {
        self.counts.instances()
    }

    fn tables(&self) -> usize {
        self.counts.tables()
    }

    fn memories(&self) -> usize {
        self.counts.memories()
    }
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 { format!("{} MiB", n >> 20) } else { format!("{} KiB", n >> 10) }
}

/// A host operation's refusal (`host_ops::HostOpError`) as the error a
/// wasmi host function returns.
#[derive(Debug)]
pub struct FbHostError(pub host_ops::HostOpError);

impl std::fmt::Display for FbHostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl HostError for FbHostError {}

/// A host function that panicked, with the panic's message.
#[derive(Debug)]
pub struct HostPanicked(pub String);

impl std::fmt::Display for HostPanicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host function panicked: {}", self.0)
    }
}

impl HostError for HostPanicked {}

/// The call's budget ran out while the guest was in a host function (a
/// loop of host calls, or a wait in WASI `poll_oneoff`): the call ends
/// there, with the deadline that passed.
#[derive(Debug)]
pub struct BudgetSpent {
    pub deadline: Deadline,
    /// In a wait (`poll_oneoff`), rather than between host calls.
    pub waiting: bool,
}

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.deadline, self.waiting) {
            (Deadline::Wall, true) => f.write_str("the guest waited in poll_oneoff past the call's wall-clock backstop"),
            (Deadline::Wall, false) => f.write_str("the call's wall-clock backstop passed; faultbox ended it at a host call"),
            (Deadline::Cpu, _) => f.write_str("the call's CPU budget was spent; faultbox ended it at a host call"),
        }
    }
}

impl HostError for BudgetSpent {}

/// Ends the call when its budget has run out: every host function asks
/// this first, so that time spent in the host counts against the guest.
pub fn within_budget(state: &RunState) -> Result<(), wasmi::Error> {
    match state.budget.and_then(|b| b.ran_out()) {
        Some(deadline) => Err(wasmi::Error::host(BudgetSpent { deadline, waiting: false })),
        None => Ok(()),
    }
}

/// Runs a host function's body, turning a panic into the error
/// [`HostPanicked`]. A panic must not leave a host function: on x86-64
/// wasmi's instruction handlers are `extern "sysv64" fn`s
/// (`engine/executor/handler/dispatch/backend/tail.rs`), and unwinding out
/// of one aborts the process. wasmtime instead carries the panic across
/// the guest frames and resumes it at the embedder's call.
pub fn guarded<R>(body: impl FnOnce() -> Result<R, wasmi::Error>) -> Result<R, wasmi::Error> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(wasmi::Error::host(HostPanicked(panic_message(&*payload)))),
    }
}

/// The host functions of one linker, with their signatures: wasmi links
/// at instantiation, so a module's imports are checked against these when
/// it is prepared ([`Host::check`]).
#[derive(Clone)]
pub struct Host {
    pub linker: Linker<RunState>,
    signatures: Vec<(String, String, FuncType)>,
}

impl Host {
    pub fn new(engine: &wasmi::Engine) -> Host {
        Host { linker: Linker::new(engine), signatures: Vec::new() }
    }

    /// Defines `module::name` as `func`, whose signature is `params` →
    /// `results` (checked against the closure's when a store instantiates
    /// a module through it; the tests instantiate every definition).
    pub fn define<Params, Results>(
        &mut self,
        module: &'static str,
        name: &'static str,
        params: &[ValType],
        results: &[ValType],
        func: impl IntoFunc<RunState, Params, Results>,
    ) -> anyhow::Result<()> {
        self.linker.func_wrap(module, name, func).map_err(|e| anyhow::anyhow!("{module}::{name}: {e}"))?;
        self.signatures.push((module.into(), name.into(), FuncType::new(params.iter().copied(), results.iter().copied())));
        Ok(())
    }

    /// Defines `module::name` with the signature `ty`, untyped (for
    /// functions whose signature only the module knows).
    pub fn define_dynamic(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, RunState>, &[wasmi::Val], &mut [wasmi::Val]) -> Result<(), wasmi::Error> + Send + Sync + 'static,
    ) -> anyhow::Result<()> {
        self.linker.func_new(module, name, ty.clone(), func).map_err(|e| anyhow::anyhow!("{module}::{name}: {e}"))?;
        self.signatures.push((module.into(), name.into(), ty));
        Ok(())
    }

    /// The signature of `module::name`, if defined.
    pub fn signature(&self, module: &str, name: &str) -> Option<&FuncType> {
        self.signatures.iter().find(|(m, n, _)| m == module && n == name).map(|(_, _, ty)| ty)
    }

    /// Every definition: module, name, signature.
    #[cfg(test)]
    pub fn signatures(&self) -> impl Iterator<Item = &(String, String, FuncType)> {
        self.signatures.iter()
    }

    /// Why `module` cannot be instantiated through this linker, if it
    /// cannot: an import that is not defined, or defined with another type.
    pub fn check(&self, module: &wasmi::Module) -> Result<(), String> {
        for import in module.imports() {
            let (m, n) = (import.module(), import.name());
            match (import.ty(), self.signature(m, n)) {
                (wasmi::ExternType::Func(wanted), Some(have)) if wanted == have => {}
                (wasmi::ExternType::Func(wanted), Some(have)) => {
                    return Err(format!("incompatible import type for `{m}::{n}`: the module wants {wanted:?}, the host defines {have:?}"));
                }
                (ty, _) => return Err(format!("unknown import: `{m}::{n}` ({ty:?}) has not been defined")),
            }
        }
        Ok(())
    }
}

/// Reads guest memory `[ptr, ptr+len)`, at most `cap` bytes of it (less if
/// part of it lies outside memory).
fn read_guest(caller: &Caller<'_, RunState>, ptr: i32, len: i32, cap: usize) -> Vec<u8> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return Vec::new() };
    let data = memory.data(caller);
    let start = (ptr as u32 as usize).min(data.len());
    let end = start.saturating_add((len as u32 as usize).min(cap)).min(data.len());
    data[start..end].to_vec()
}

/// Defines the `fb` imports.
pub fn define(host: &mut Host) -> anyhow::Result<()> {
    use ValType::{I32, I64};
    host.define("fb", "progress", &[I64], &[], |mut caller: Caller<'_, RunState>, value: i64| {
        guarded(|| {
            within_budget(caller.data())?;
            let p = &mut caller.data_mut().progress;
            let reports = p.map_or(0, |p| p.reports) + 1;
            *p = Some(Progress { last: value, reports });
            crate::wasm::ready::progressed();
            Ok(())
        })
    })?;
    host.define("fb", "panic_message", &[I32, I32], &[], |mut caller: Caller<'_, RunState>, ptr: i32, len: i32| {
        guarded(|| {
            within_budget(caller.data())?;
            let bytes = read_guest(&caller, ptr, len, 4096);
            caller.data_mut().guest_panic = Some(String::from_utf8_lossy(&bytes).into_owned());
            Ok(())
        })
    })?;
    host.define("fb", "write", &[I32, I32], &[], |mut caller: Caller<'_, RunState>, ptr: i32, len: i32| {
        guarded(|| {
            within_budget(caller.data())?;
            let len = len as u32 as usize;
            let keep = len.min(crate::protocol::OUTPUT_TAIL_BYTES);
            // Only the tail is copied; the rest of a large write is counted,
            // as is any part of the range that lies outside memory.
            let skipped = len - keep;
            let bytes = read_guest(&caller, ptr.wrapping_add(skipped as i32), keep as i32, keep);
            let out = &mut caller.data_mut().output;
            out.push(&bytes);
            out.count_skipped((len - bytes.len()) as u64);
            Ok(())
        })
    })?;
    host.define("fb", "host_call", &[I32], &[I64], |mut caller: Caller<'_, RunState>, op: i32| -> Result<i64, wasmi::Error> {
        guarded(|| {
            within_budget(caller.data())?;
            let Some(op) = HostOp::from_i32(op) else {
                // The guest chose the number: its mistake ends its own call,
                // as any host function's refusal does.
                return Err(wasmi::Error::host(FbHostError(host_ops::HostOpError(format!("unknown host operation {op}")))));
            };
            let state = caller.data_mut();
            state.host_call = Some(op);
            if host_ops::may_kill_host(op) {
                (state.announce)(op);
            }
            let value = host_ops::perform(op).map_err(|e| wasmi::Error::host(FbHostError(e)))?;
            caller.data_mut().host_call = None;
            Ok(value)
        })
    })?;
    Ok(())
}
