//! WASI preview 1 for wasmi, written here: the calls Go's wasip1 reactor
//! and C's wasi-libc reactor make, each answering as wasmtime-wasi 48's
//! `p1.rs` does for the same context (no preopens, an empty environment,
//! an empty stdin, stdout and stderr captured into bounded tails), and
//! every other `wasi_snapshot_preview1` function a module imports linked
//! with the module's own signature, returning ENOSYS, so that a runtime
//! links even when it imports calls it never makes.
//!
//! Why not `wasmi_wasi`: it builds wasi-common and wiggle (and cap-std,
//! rustix 0.38, …), which measured more than wasmi itself in fresh build
//! time, for a sandbox whose only files are the three standard streams.

use super::imports::{BudgetSpent, Host, RunState, guarded, within_budget};
use crate::protocol::{OutputTail, TailBuffer};
use std::time::{Duration, Instant};
use wasmi::{Caller, Extern, FuncType, Val, ValType};

pub const MODULE: &str = "wasi_snapshot_preview1";

/// WASI errnos (`wasi/api.h`).
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const NOSYS: i32 = 52;
    pub const NOTDIR: i32 = 54;
    pub const SPIPE: i32 = 70;
}

const STDIN: u32 = 0;
const STDOUT: u32 = 1;
const STDERR: u32 = 2;

const RIGHTS_FD_READ: u64 = 1 << 1;
const RIGHTS_FD_WRITE: u64 = 1 << 6;
const FILETYPE_UNKNOWN: u8 = 0;

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME: i32 = 2;
const CLOCK_THREAD_CPUTIME: i32 = 3;

/// `poll_oneoff`'s records (`__wasi_subscription_t`, `__wasi_event_t`).
const SUBSCRIPTION_BYTES: u32 = 48;
const EVENT_BYTES: u32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const EVENTRWFLAGS_HANGUP: u16 = 1;
/// What a write subscription says may be written without blocking: the
/// permit wasmtime-wasi's captured streams grant.
const WRITE_PERMIT: u64 = 64 * 1024;

/// The WASI side of a store.
pub struct WasiState {
    /// `argv`, `argv[0]` first.
    args: Vec<String>,
    stdout: TailBuffer,
    stderr: TailBuffer,
    /// Whether fds 0, 1 and 2 are still open (`fd_close` closes them).
    open: [bool; 3],
}

impl WasiState {
    pub fn with_args(args: &[String]) -> WasiState {
        WasiState { args: args.to_vec(), stdout: TailBuffer::default(), stderr: TailBuffer::default(), open: [true; 3] }
    }

    fn is_open(&self, fd: u32) -> bool {
        self.open.get(fd as usize).copied().unwrap_or(false)
    }
}

/// The store state for a run: WASI too when `wasi`, with `args` as its
/// command line.
pub fn run_state(memory_bytes: u64, announce: fn(faultbox_guests::host::HostOp), wasi: bool, args: &[String]) -> RunState {
    let mut state = RunState::new(memory_bytes, announce);
    if wasi {
        state.wasi = Some(WasiState::with_args(args));
    }
    state
}

/// The guest's output as the observation reports it: `fb.write`'s, then
/// WASI stdout's (as wasmtime's backend reports it).
pub fn output_tail(state: &RunState) -> OutputTail {
    crate::wasm::backend::merged_output(state.output.finish(), state.wasi.as_ref().map(|w| w.stdout.finish()))
}

/// WASI stderr so far (empty without WASI).
pub fn stderr_tail(state: &RunState) -> OutputTail {
    state.wasi.as_ref().map(|w| w.stderr.finish()).unwrap_or_default()
}

/// Guest memory as WASI reads and writes it: little-endian, every access
/// bounds-checked (EFAULT outside memory).
struct Mem<'a>(&'a mut [u8]);

impl Mem<'_> {
    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, i32> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).filter(|&e| e <= self.0.len()).ok_or(errno::FAULT)?;
        Ok(start..end)
    }

    fn bytes(&self, ptr: u32, len: u32) -> Result<&[u8], i32> {
        let r = self.range(ptr, len)?;
        Ok(&self.0[r])
    }

    fn bytes_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], i32> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.0[r])
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), i32> {
        self.bytes_mut(ptr, bytes.len() as u32)?.copy_from_slice(bytes);
        Ok(())
    }

    fn u8(&self, ptr: u32) -> Result<u8, i32> {
        Ok(self.bytes(ptr, 1)?[0])
    }

    fn u16(&self, ptr: u32) -> Result<u16, i32> {
        Ok(u16::from_le_bytes(self.bytes(ptr, 2)?.try_into().unwrap_or_default()))
    }

    fn u32(&self, ptr: u32) -> Result<u32, i32> {
        Ok(u32::from_le_bytes(self.bytes(ptr, 4)?.try_into().unwrap_or_default()))
    }

    fn u64(&self, ptr: u32) -> Result<u64, i32> {
        Ok(u64::from_le_bytes(self.bytes(ptr, 8)?.try_into().unwrap_or_default()))
    }

    /// The `(ptr, len)` pairs of an iovec array (4-aligned, as
    /// wasmtime-wasi requires of a guest pointer to a record of u32s).
    fn iovecs(&self, iovs: u32, count: u32) -> Result<Vec<(u32, u32)>, i32> {
        if iovs % 4 != 0 {
            return Err(NOT_ALIGNED);
        }
        (0..count)
            .map(|i| {
                let at = iovs.checked_add(i.checked_mul(8).ok_or(errno::FAULT)?).ok_or(errno::FAULT)?;
                Ok((self.u32(at)?, self.u32(at.checked_add(4).ok_or(errno::FAULT)?)?))
            })
            .collect()
    }
}

/// Runs `f` on the guest's memory and the store's WASI state; its `Err`
/// (an errno) is the call's result.
/// Runs `f` on the guest's memory, the store's WASI state and the call's
/// wall-clock backstop; its `Err` (an errno) is the call's result.
fn with_wasi(
    caller: &mut Caller<'_, RunState>,
    f: impl FnOnce(&mut Mem<'_>, &mut WasiState, Instant) -> Result<i32, i32>,
) -> Result<i32, wasmi::Error> {
    answering(caller, f)
}

/// [`with_wasi`] for a call that may also end the guest's call.
fn answering<E: Into<Answer>>(
    caller: &mut Caller<'_, RunState>,
    f: impl FnOnce(&mut Mem<'_>, &mut WasiState, Instant) -> Result<i32, E>,
) -> Result<i32, wasmi::Error> {
    guarded(|| {
        let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
            return Err(wasmi::Error::new("a WASI call from a module that exports no `memory`"));
        };
        within_budget(caller.data())?;
        let (data, state) = memory.data_and_store_mut(&mut *caller);
        // Outside a budgeted call nothing waits at all.
        let wall_until = state.budget.map_or_else(Instant::now, |b| b.wall_until);
        let Some(wasi) = state.wasi.as_mut() else {
            return Err(wasmi::Error::new("a WASI module instantiated in a store without WASI state"));
        };
        match f(&mut Mem(data), wasi, wall_until).map_err(Into::into) {
            // A guest pointer outside memory, or misaligned, ends the call,
            // in wasmtime-wasi's words: it never answers EFAULT.
            Err(Answer::Errno(errno::FAULT)) => Err(wasmi::Error::new("Pointer out of bounds")),
            Err(Answer::Errno(NOT_ALIGNED)) => Err(wasmi::Error::new("Pointer not aligned")),
            Ok(errno) | Err(Answer::Errno(errno)) => Ok(errno),
            Err(Answer::Stalled) => Err(wasmi::Error::host(BudgetSpent { deadline: crate::limits::Deadline::Wall, waiting: true })),
        }
    })
}

/// `clock_gettime` / `clock_getres` for a WASI clock id, in nanoseconds.
/// The CPU-time clocks are EBADF, as wasmtime-wasi answers for them.
fn clock(id: i32, resolution: bool) -> Result<u64, i32> {
    let clock = match id {
        CLOCK_REALTIME => libc::CLOCK_REALTIME,
        CLOCK_MONOTONIC => libc::CLOCK_MONOTONIC,
        CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME => return Err(errno::BADF),
        _ => return Err(errno::INVAL),
    };
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes one timespec into our local.
    let r = unsafe { if resolution { libc::clock_getres(clock, &mut ts) } else { libc::clock_gettime(clock, &mut ts) } };
    if r != 0 {
        return Err(errno::INVAL);
    }
    Ok((ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64))
}

fn random_fill(buf: &mut [u8]) -> Result<(), i32> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(errno::FAULT);
        }
        done += n as usize;
    }
    Ok(())
}

/// `args_sizes_get` / `environ_sizes_get`: the count, and the bytes of
/// the NUL-terminated strings.
fn sizes(strings: &[String]) -> (u32, u32) {
    (strings.len() as u32, strings.iter().map(|s| s.len() as u32 + 1).sum())
}

/// `args_get` / `environ_get`: the pointers at `ptrs`, the strings at `buf`.
fn strings_into(mem: &mut Mem<'_>, strings: &[String], ptrs: u32, buf: u32) -> Result<i32, i32> {
    let mut at = buf;
    for (i, s) in strings.iter().enumerate() {
        mem.write(ptrs.wrapping_add(4 * i as u32), &at.to_le_bytes())?;
        mem.write(at, s.as_bytes())?;
        mem.write(at.wrapping_add(s.len() as u32), &[0])?;
        at = at.wrapping_add(s.len() as u32 + 1);
    }
    Ok(errno::SUCCESS)
}

fn fd_write(mem: &mut Mem<'_>, w: &mut WasiState, fd: u32, iovs: u32, count: u32, nwritten: u32) -> Result<i32, i32> {
    if (fd != STDOUT && fd != STDERR) || !w.is_open(fd) {
        return Err(errno::BADF);
    }
    let tail = if fd == STDOUT { &mut w.stdout } else { &mut w.stderr };
    if nwritten % 4 != 0 {
        return Err(NOT_ALIGNED);
    }
    // The first non-empty iovec only, as wasmtime-wasi writes (its p1
    // `fd_write`): the guest's libc loops over the rest, each call a host
    // call that its budget sees, instead of one call of any length.
    let mut written: u32 = 0;
    if let Some((ptr, len)) = mem.iovecs(iovs, count)?.into_iter().find(|(_, len)| *len > 0) {
        // Every byte is accepted: a flood is counted by the tail, never an
        // error the guest sees.
        tail.push(mem.bytes(ptr, len)?);
        written = len;
    }
    mem.write(nwritten, &written.to_le_bytes())?;
    Ok(errno::SUCCESS)
}

fn fd_read(mem: &mut Mem<'_>, w: &WasiState, fd: u32, iovs: u32, count: u32, nread: u32) -> Result<i32, i32> {
    if fd != STDIN || !w.is_open(fd) {
        return Err(errno::BADF);
    }
    mem.iovecs(iovs, count)?;
    // stdin is empty: end of file.
    mem.write(nread, &0u32.to_le_bytes())?;
    Ok(errno::SUCCESS)
}

fn fd_fdstat_get(mem: &mut Mem<'_>, w: &WasiState, fd: u32, buf: u32) -> Result<i32, i32> {
    if !w.is_open(fd) {
        return Err(errno::BADF);
    }
    // Not a terminal: filetype unknown, as wasmtime-wasi says of captured
    // streams; stdin may be read, stdout and stderr written.
    let rights = if fd == STDIN { RIGHTS_FD_READ } else { RIGHTS_FD_WRITE };
    let mut stat = [0u8; 24];
    stat[0] = FILETYPE_UNKNOWN;
    stat[8..16].copy_from_slice(&rights.to_le_bytes());
    stat[16..24].copy_from_slice(&rights.to_le_bytes());
    mem.write(buf, &stat)?;
    Ok(errno::SUCCESS)
}

/// One `poll_oneoff` subscription, read.
enum Subscription {
    /// A clock that fires `after` from now.
    Clock { userdata: u64, after: Duration },
    Fd { userdata: u64, kind: u8, fd: u32 },
}

fn read_subscription(mem: &Mem<'_>, at: u32) -> Result<Subscription, i32> {
    let userdata = mem.u64(at)?;
    match mem.u8(at + 8)? {
        EVENTTYPE_CLOCK => {
            let id = mem.u32(at + 16)? as i32;
            let timeout = mem.u64(at + 24)?;
            let flags = mem.u16(at + 40)?;
            // Only realtime and monotonic clocks can be waited on.
            if id != CLOCK_REALTIME && id != CLOCK_MONOTONIC {
                return Err(errno::INVAL);
            }
            let after = if flags & SUBCLOCKFLAGS_ABSTIME != 0 { timeout.saturating_sub(clock(id, false)?) } else { timeout };
            Ok(Subscription::Clock { userdata, after: Duration::from_nanos(after) })
        }
        kind @ (EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE) => Ok(Subscription::Fd { userdata, kind, fd: mem.u32(at + 16)? }),
        _ => Err(errno::INVAL),
    }
}

fn write_event(mem: &mut Mem<'_>, at: u32, userdata: u64, kind: u8, nbytes: u64, flags: u16) -> Result<(), i32> {
    let mut event = [0u8; EVENT_BYTES as usize];
    event[0..8].copy_from_slice(&userdata.to_le_bytes());
    event[8..10].copy_from_slice(&0u16.to_le_bytes());
    event[10] = kind;
    event[16..24].copy_from_slice(&nbytes.to_le_bytes());
    event[24..26].copy_from_slice(&flags.to_le_bytes());
    mem.write(at, &event)
}

/// What a WASI call answers: an errno, or the end of the call.
/// Not a WASI errno: a misaligned guest pointer, which ends the call.
const NOT_ALIGNED: i32 = -1;

enum Answer {
    Errno(i32),
    /// The call waited until the wall-clock backstop passed.
    Stalled,
}

impl From<i32> for Answer {
    fn from(errno: i32) -> Answer {
        Answer::Errno(errno)
    }
}

/// `poll_oneoff`: the standard streams are always ready (stdin at end of
/// file), so a poll with an fd subscription returns at once; a poll on
/// clocks alone sleeps until the first fires, but never past the call's
/// wall-clock backstop: a wait that reaches it ends the call there, as
/// the wall deadline (`Stalled`).
fn poll_oneoff(mem: &mut Mem<'_>, w: &WasiState, wall_until: Instant, subs: u32, events: u32, n: u32, nevents: u32) -> Result<i32, Answer> {
    if n == 0 {
        // Indefinite sleeping: refused, as wasmtime-wasi refuses it.
        return Err(errno::INVAL.into());
    }
    let all = (0..n)
        .map(|i| read_subscription(mem, subs.checked_add(i.checked_mul(SUBSCRIPTION_BYTES).ok_or(errno::FAULT)?).ok_or(errno::FAULT)?))
        .collect::<Result<Vec<_>, i32>>()?;
    let mut out: Vec<(u64, u8, u64, u16)> = Vec::new();
    for sub in &all {
        if let Subscription::Fd { userdata, kind, fd } = *sub {
            match (kind, fd) {
                (EVENTTYPE_FD_READ, STDIN) if w.is_open(fd) => out.push((userdata, kind, 0, EVENTRWFLAGS_HANGUP)),
                (EVENTTYPE_FD_WRITE, STDOUT | STDERR) if w.is_open(fd) => out.push((userdata, kind, WRITE_PERMIT, 0)),
                _ => return Err(errno::BADF.into()),
            }
        }
    }
    let clocks = all.iter().filter_map(|s| match s {
        Subscription::Clock { userdata, after } => Some((*userdata, *after)),
        Subscription::Fd { .. } => None,
    });
    if out.is_empty() {
        let first = clocks.clone().map(|(_, after)| after).min().unwrap_or_default();
        let started = Instant::now();
        let left = wall_until.saturating_duration_since(started);
        if first >= left {
            std::thread::sleep(left);
            return Err(Answer::Stalled);
        }
        if !first.is_zero() {
            std::thread::sleep(first);
        }
        let slept = started.elapsed();
        out.extend(clocks.filter(|(_, after)| *after <= slept).map(|(userdata, _)| (userdata, EVENTTYPE_CLOCK, 0, 0)));
    } else {
        out.extend(clocks.filter(|(_, after)| after.is_zero()).map(|(userdata, _)| (userdata, EVENTTYPE_CLOCK, 0, 0)));
    }
    for (i, (userdata, kind, nbytes, flags)) in out.iter().enumerate() {
        write_event(mem, events.wrapping_add(i as u32 * EVENT_BYTES), *userdata, *kind, *nbytes, *flags)?;
    }
    mem.write(nevents, &(out.len() as u32).to_le_bytes())?;
    Ok(errno::SUCCESS)
}

/// Defines the calls implemented here on `host`.
pub fn define(host: &mut Host) -> anyhow::Result<()> {
    use ValType::{I32, I64};
    type C<'a> = Caller<'a, RunState>;
    host.define(MODULE, "args_sizes_get", &[I32, I32], &[I32], |mut c: C<'_>, argc: i32, size: i32| {
        with_wasi(&mut c, |mem, w, _| {
            let (count, bytes) = sizes(&w.args);
            mem.write(argc as u32, &count.to_le_bytes())?;
            mem.write(size as u32, &bytes.to_le_bytes())?;
            Ok(errno::SUCCESS)
        })
    })?;
    host.define(MODULE, "args_get", &[I32, I32], &[I32], |mut c: C<'_>, argv: i32, buf: i32| {
        with_wasi(&mut c, |mem, w, _| strings_into(mem, &w.args, argv as u32, buf as u32))
    })?;
    // An empty environment.
    host.define(MODULE, "environ_sizes_get", &[I32, I32], &[I32], |mut c: C<'_>, count: i32, size: i32| {
        with_wasi(&mut c, |mem, _, _| {
            mem.write(count as u32, &0u32.to_le_bytes())?;
            mem.write(size as u32, &0u32.to_le_bytes())?;
            Ok(errno::SUCCESS)
        })
    })?;
    host.define(MODULE, "environ_get", &[I32, I32], &[I32], |mut c: C<'_>, environ: i32, buf: i32| {
        with_wasi(&mut c, |mem, _, _| strings_into(mem, &[], environ as u32, buf as u32))
    })?;
    host.define(MODULE, "clock_res_get", &[I32, I32], &[I32], |mut c: C<'_>, id: i32, res: i32| {
        with_wasi(&mut c, |mem, _, _| {
            mem.write(res as u32, &clock(id, true)?.to_le_bytes())?;
            Ok(errno::SUCCESS)
        })
    })?;
    host.define(MODULE, "clock_time_get", &[I32, I64, I32], &[I32], |mut c: C<'_>, id: i32, _precision: i64, time: i32| {
        with_wasi(&mut c, |mem, _, _| {
            mem.write(time as u32, &clock(id, false)?.to_le_bytes())?;
            Ok(errno::SUCCESS)
        })
    })?;
    host.define(MODULE, "random_get", &[I32, I32], &[I32], |mut c: C<'_>, buf: i32, len: i32| {
        with_wasi(&mut c, |mem, _, _| {
            random_fill(mem.bytes_mut(buf as u32, len as u32)?)?;
            Ok(errno::SUCCESS)
        })
    })?;
    host.define(MODULE, "fd_write", &[I32, I32, I32, I32], &[I32], |mut c: C<'_>, fd: i32, iovs: i32, n: i32, nwritten: i32| {
        with_wasi(&mut c, |mem, w, _| fd_write(mem, w, fd as u32, iovs as u32, n as u32, nwritten as u32))
    })?;
    host.define(MODULE, "fd_read", &[I32, I32, I32, I32], &[I32], |mut c: C<'_>, fd: i32, iovs: i32, n: i32, nread: i32| {
        with_wasi(&mut c, |mem, w, _| fd_read(mem, w, fd as u32, iovs as u32, n as u32, nread as u32))
    })?;
    host.define(MODULE, "fd_fdstat_get", &[I32, I32], &[I32], |mut c: C<'_>, fd: i32, buf: i32| {
        with_wasi(&mut c, |mem, w, _| fd_fdstat_get(mem, w, fd as u32, buf as u32))
    })?;
    // The standard streams are streams, not files: their flags cannot be
    // set (wasmtime-wasi's `get_file_mut` is EBADF for them).
    host.define(MODULE, "fd_fdstat_set_flags", &[I32, I32], &[I32], |mut c: C<'_>, _fd: i32, _flags: i32| {
        with_wasi(&mut c, |_, _, _| Err(errno::BADF))
    })?;
    // No preopened directories.
    host.define(MODULE, "fd_prestat_get", &[I32, I32], &[I32], |mut c: C<'_>, _fd: i32, _buf: i32| {
        with_wasi(&mut c, |_, _, _| Err(errno::BADF))
    })?;
    host.define(MODULE, "fd_prestat_dir_name", &[I32, I32, I32], &[I32], |mut c: C<'_>, fd: i32, _path: i32, _len: i32| {
        with_wasi(&mut c, |_, w, _| Err(if w.is_open(fd as u32) { errno::NOTDIR } else { errno::BADF }))
    })?;
    host.define(MODULE, "fd_close", &[I32], &[I32], |mut c: C<'_>, fd: i32| {
        with_wasi(&mut c, |_, w, _| match w.open.get_mut(fd as u32 as usize) {
            Some(open) if *open => {
                *open = false;
                Ok(errno::SUCCESS)
            }
            _ => Err(errno::BADF),
        })
    })?;
    host.define(MODULE, "fd_seek", &[I32, I64, I32, I32], &[I32], |mut c: C<'_>, fd: i32, _offset: i64, _whence: i32, _new: i32| {
        with_wasi(&mut c, |_, w, _| Err(if w.is_open(fd as u32) { errno::SPIPE } else { errno::BADF }))
    })?;
    host.define(MODULE, "sched_yield", &[], &[I32], |mut c: C<'_>| with_wasi(&mut c, |_, _, _| Ok(errno::SUCCESS)))?;
    host.define(MODULE, "poll_oneoff", &[I32, I32, I32, I32], &[I32], |mut c: C<'_>, subs: i32, events: i32, n: i32, nevents: i32| {
        answering(&mut c, |mem, w, wall_until| poll_oneoff(mem, w, wall_until, subs as u32, events as u32, n as u32, nevents as u32))
    })?;
    // `proc_exit(code)` ends the call: wasmi's i32 exit error, read as
    // `Exited { code }`.
    host.define(MODULE, "proc_exit", &[I32], &[], |_: C<'_>, code: i32| -> Result<(), wasmi::Error> { Err(wasmi::Error::i32_exit(code)) })?;
    Ok(())
}

/// Links every `wasi_snapshot_preview1` function `module` imports that
/// `host` does not define as a function of the module's own signature that
/// returns ENOSYS (its other results zero).
pub fn link_unimplemented(host: &mut Host, module: &wasmi::Module) -> anyhow::Result<()> {
    for import in module.imports() {
        let (wasmi::ExternType::Func(ty), MODULE) = (import.ty(), import.module()) else { continue };
        // Defined already (here, or as the stub of an earlier import of the
        // same name): `Host::check` compares the signatures.
        if host.signature(MODULE, import.name()).is_some() {
            continue;
        }
        let results: FuncType = ty.clone();
        host.define_dynamic(MODULE, import.name(), ty.clone(), move |_, _: &[Val], out: &mut [Val]| {
            for (slot, ty) in out.iter_mut().zip(results.results()) {
                *slot = Val::default_for_ty(*ty);
            }
            if let Some(first @ Val::I32(_)) = out.first_mut() {
                *first = Val::I32(errno::NOSYS);
            }
            Ok(())
        })?;
    }
    Ok(())
}
