//! What the wasm worker offers a guest: the `fb` import module, and the
//! per-store state those imports record into.

use crate::host_ops;
use crate::outcome::Progress;
use crate::protocol::TailBuffer;
use faultbox_guests::host::HostOp;
use wasmtime::{Caller, Extern, Linker, ResourceLimiter};

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
    /// WASI preview 1's context and output tails, for WASI modules only.
    pub wasi: Option<super::wasi::WasiState>,
}

impl RunState {
    pub fn new(memory_bytes: u64, announce: fn(HostOp)) -> RunState {
        RunState {
            limiter: Limiter { memory_bytes: memory_bytes as usize, refused: Vec::new() },
            progress: None,
            guest_panic: None,
            host_call: None,
            output: TailBuffer::default(),
            announce,
            wasi: None,
        }
    }
}

/// Store limits that also record what they refused.
pub struct Limiter {
    pub memory_bytes: usize,
    pub refused: Vec<String>,
}

/// Tables may grow to this many elements.
const TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired <= self.memory_bytes {
            return Ok(true);
        }
        if self.refused.len() < 8 {
            self.refused.push(format!(
                // wasmtime asks the same question for linear memory and
                // for the GC heap, and does not say which is growing.
                "growth of a memory (linear memory or the GC heap) from {} to {} refused by the store limit ({} MiB)",
                human_bytes(current),
                human_bytes(desired),
                self.memory_bytes >> 20
            ));
        }
        Ok(false)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired <= TABLE_ELEMENTS {
            return Ok(true);
        }
        if self.refused.len() < 8 {
            self.refused.push(format!(
                "table.grow from {current} to {desired} elements refused by the store limit ({TABLE_ELEMENTS})"
            ));
        }
        Ok(false)
    }
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 { format!("{} MiB", n >> 20) } else { format!("{} KiB", n >> 10) }
}

/// Reads guest memory `[ptr, ptr+len)`, at most `cap` bytes of it.
fn read_guest(caller: &mut Caller<'_, RunState>, ptr: i32, len: i32, cap: usize) -> Vec<u8> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return Vec::new() };
    let data = memory.data(&caller);
    let start = (ptr as u32 as usize).min(data.len());
    let end = start.saturating_add((len as u32 as usize).min(cap)).min(data.len());
    data[start..end].to_vec()
}

/// Defines the `fb` imports.
pub fn define(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap("fb", "progress", |mut caller: Caller<'_, RunState>, value: i64| {
        let p = &mut caller.data_mut().progress;
        let reports = p.map_or(0, |p| p.reports) + 1;
        *p = Some(Progress { last: value, reports });
        crate::wasm::ready::progressed();
    })?;
    linker.func_wrap("fb", "panic_message", |mut caller: Caller<'_, RunState>, ptr: i32, len: i32| {
        let bytes = read_guest(&mut caller, ptr, len, 4096);
        caller.data_mut().guest_panic = Some(String::from_utf8_lossy(&bytes).into_owned());
    })?;
    linker.func_wrap("fb", "write", |mut caller: Caller<'_, RunState>, ptr: i32, len: i32| {
        let len = len as u32 as usize;
        let keep = len.min(crate::protocol::OUTPUT_TAIL_BYTES);
        // Only the tail is copied; the rest of a large write is counted,
        // as is any part of the range that lies outside memory.
        let skipped = len - keep;
        let bytes = read_guest(&mut caller, ptr.wrapping_add(skipped as i32), keep as i32, keep);
        let out = &mut caller.data_mut().output;
        out.push(&bytes);
        out.count_skipped((len - bytes.len()) as u64);
    })?;
    linker.func_wrap("fb", "host_call", |mut caller: Caller<'_, RunState>, op: i32| -> wasmtime::Result<i64> {
        let Some(op) = HostOp::from_i32(op) else {
            // The guest chose the number: its mistake ends its own call,
            // as any host function's refusal does.
            return Err(wasmtime::Error::new(crate::host_ops::HostOpError(format!("unknown host operation {op}"))));
        };
        let state = caller.data_mut();
        state.host_call = Some(op);
        if host_ops::may_kill_host(op) {
            (state.announce)(op);
        }
        let value = host_ops::perform(op).map_err(wasmtime::Error::new)?;
        caller.data_mut().host_call = None;
        Ok(value)
    })?;
    Ok(())
}
