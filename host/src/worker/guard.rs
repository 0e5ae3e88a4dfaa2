//! The supervisor's watch on its workers' memory, and the bound on how
//! many modules compile at once.
//!
//! Compiling is bounded by memory as well as by time: a module of 100,000
//! nested `if`s took Cranelift past 8 GB. wasmtime's pool reserves far
//! more address space than any compile uses, so no RLIMIT_AS can bound a
//! wasm worker; and an engine adapter (Node.js, Go) reserves address space
//! of its own. So the bound is on what the machine loses, resident memory,
//! watched from outside: while a call is in flight, one thread reads the
//! worker's resident set every [`POLL`] and kills the worker (through a
//! pidfd, never a pid that may have been reused) once it passes what the
//! request allows: the compile allowance ([`COMPILE_MEMORY_ENV`]) plus the
//! memory the request lets its guest or its script take, above what the
//! worker held when the call began. The call then ends as a lost worker
//! with [`OverMemory`] set, which every caller names.
//!
//! A spec script in an engine adapter is one conversation of many calls:
//! its allowance counts from what the adapter held at `spec_begin`, so
//! that a script cannot take its store's cap once per step.
//!
//! How many compile at once ([`compile_slot`]): as many as there are
//! cores, and no more than half the memory available when the first one
//! starts holds compile allowances.

use crate::error::BadInput;
pub use crate::protocol::OverMemory;
use crate::protocol::Request;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// The environment variable that sets the compile allowance, in MiB.
pub const COMPILE_MEMORY_ENV: &str = "FAULTBOX_COMPILE_MEMORY_MIB";
/// The compile allowance when the variable is unset: the Go guest (2.7 MB
/// of wasm) compiles in about 120 MiB; 2 GiB leaves room for modules
/// twenty times its size.
const DEFAULT_COMPILE_MIB: u64 = 2048;
/// Accepted values of the variable.
const COMPILE_MIB_RANGE: (u64, u64) = (64, 1 << 20);
/// What a worker may hold beyond its guest's memory and the compile
/// allowance: tables, instance state, the engine's own bookkeeping.
const SLACK_MIB: u64 = 128;
/// How often a watched worker's resident set is read. Cranelift grew by
/// about 800 MB a second on the worst module tried: a read every 20 ms
/// lets it pass its bound by some 16 MB.
pub const POLL: Duration = Duration::from_millis(20);

/// The compile allowance in MiB, from [`COMPILE_MEMORY_ENV`]; a value that
/// is not a whole number in range is bad input, named.
pub fn compile_memory_mib() -> Result<u64, BadInput> {
    match std::env::var_os(COMPILE_MEMORY_ENV) {
        None => Ok(DEFAULT_COMPILE_MIB),
        Some(value) => parse_compile_mib(&value.to_string_lossy()),
    }
}

fn parse_compile_mib(text: &str) -> Result<u64, BadInput> {
    let (lo, hi) = COMPILE_MIB_RANGE;
    match text.trim().parse::<u64>() {
        Ok(mib) if (lo..=hi).contains(&mib) => Ok(mib),
        _ => Err(BadInput::new(format!("{COMPILE_MEMORY_ENV}=`{text}` is not a number of MiB from {lo} to {hi}"))),
    }
}

/// The compile allowance, bytes (the default when the variable is bad:
/// the CLI refuses a bad value before any worker starts).
fn compile_bytes() -> u64 {
    static MIB: OnceLock<u64> = OnceLock::new();
    *MIB.get_or_init(|| compile_memory_mib().unwrap_or(DEFAULT_COMPILE_MIB)) << 20
}

/// What `request` may add to its worker's resident set, bytes, and how
/// that is counted; `None`: not watched (native runs, which their own
/// rlimits bound; bench and soak, which run the catalog's modules and
/// watch their worker's memory themselves).
fn allowance(request: &Request) -> Option<(u64, Baseline)> {
    let wast = crate::worker::wast::cap::memory_bytes() as u64;
    let (guest, baseline) = match request {
        Request::Wasm(w) => (w.limits.memory_bytes(), Baseline::Now),
        Request::Fuzz(f) => (f.memory_bytes, Baseline::Now),
        Request::Wast(_) => (wast, Baseline::Now),
        Request::SpecBegin { .. } => (wast, Baseline::Begin),
        Request::SpecCompile { .. }
        | Request::SpecJudge { .. }
        | Request::SpecImports { .. }
        | Request::SpecInstantiate { .. }
        | Request::SpecRegister { .. }
        | Request::SpecCall { .. }
        | Request::SpecGlobal { .. } => (wast, Baseline::SinceBegin),
        Request::Native(_) | Request::Bench { .. } | Request::Soak(_) => return None,
    };
    Some((guest.saturating_add(compile_bytes()).saturating_add(SLACK_MIB << 20), baseline))
}

/// What a call's allowance counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Baseline {
    /// The worker's resident set when the call begins.
    Now,
    /// The same, kept for the spec steps that follow (`spec_begin`).
    Begin,
    /// What was kept at the conversation's `spec_begin` (a spec step).
    SinceBegin,
}

/// A call being watched. [`Watch::finish`] ends the watch and says whether
/// the worker was stopped.
pub struct Watch {
    id: u64,
    fired: Arc<AtomicU64>,
    base: u64,
    allowance: u64,
}

/// One watched worker, as the watching thread sees it.
struct Watched {
    id: u64,
    pidfd: OwnedFd,
    statm: std::fs::File,
    limit: u64,
    /// The resident bytes it was stopped at; 0 while it is not.
    fired: Arc<AtomicU64>,
}

struct Watching {
    calls: Vec<Watched>,
    next_id: u64,
    /// Resident bytes at each adapter's `spec_begin`, by pid.
    begins: BTreeMap<u32, u64>,
}

static WATCHING: Mutex<Watching> = Mutex::new(Watching { calls: Vec::new(), next_id: 0, begins: BTreeMap::new() });
static WAKE: Condvar = Condvar::new();

/// Starts watching worker `pid` for the call of `request`, when the request
/// is one that is watched.
pub fn watch(pid: u32, request: &Request) -> Option<Watch> {
    let (allowance, baseline) = allowance(request)?;
    let statm = std::fs::File::open(format!("/proc/{pid}/statm")).ok()?;
    let pidfd = crate::process::pidfd_open(pid as i32).ok()?;
    let now = resident_bytes(&statm)?;
    let mut w = WATCHING.lock().unwrap_or_else(|e| e.into_inner());
    let base = match baseline {
        Baseline::Now => now,
        Baseline::Begin => {
            w.begins.insert(pid, now);
            now
        }
        Baseline::SinceBegin => *w.begins.get(&pid).unwrap_or(&now),
    };
    let limit = base.saturating_add(allowance);
    w.next_id += 1;
    let id = w.next_id;
    let fired = Arc::new(AtomicU64::new(0));
    w.calls.push(Watched { id, pidfd, statm, limit, fired: fired.clone() });
    drop(w);
    start_watcher();
    WAKE.notify_all();
    Some(Watch { id, fired, base, allowance })
}

impl Watch {
    /// Ends the watch: what stopped the worker, if the watch did.
    pub fn finish(self) -> Option<OverMemory> {
        let mut w = WATCHING.lock().unwrap_or_else(|e| e.into_inner());
        w.calls.retain(|c| c.id != self.id);
        drop(w);
        match self.fired.load(Ordering::SeqCst) {
            0 => None,
            resident => Some(OverMemory {
                resident_mib: resident >> 20,
                base_mib: self.base >> 20,
                allowed_mib: self.allowance >> 20,
                compile_mib: compile_bytes() >> 20,
            }),
        }
    }
}

fn start_watcher() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // Without the thread nothing is watched; the calls still run.
        let _ = std::thread::Builder::new().name("fb-memory".into()).spawn(watch_loop);
    });
}

fn watch_loop() {
    let mut w = WATCHING.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if w.calls.is_empty() {
            w = WAKE.wait(w).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        for call in &w.calls {
            if call.fired.load(Ordering::SeqCst) != 0 {
                continue;
            }
            if let Some(resident) = resident_bytes(&call.statm).filter(|&r| r > call.limit) {
                call.fired.store(resident, Ordering::SeqCst);
                // SAFETY: pidfd_send_signal with a pidfd we own: it
                // reaches that process or none, never a reused pid.
                unsafe { libc::syscall(libc::SYS_pidfd_send_signal, call.pidfd.as_raw_fd(), libc::SIGKILL, std::ptr::null::<u8>(), 0) };
            }
        }
        w = WAKE.wait_timeout(w, POLL).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// The resident set behind an open `/proc/<pid>/statm`, bytes; `None` once
/// the process is gone.
fn resident_bytes(statm: &std::fs::File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 128];
    let n = statm.read_at(&mut buf, 0).ok()?;
    let pages: u64 = std::str::from_utf8(&buf[..n]).ok()?.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * crate::process::page_size() as u64)
}

/// How many modules may compile at once: one per core, within half the
/// memory available.
fn slots_for(cores: usize, available: u64, allowance: u64) -> usize {
    let by_memory = (available / 2 / allowance.max(1)) as usize;
    by_memory.clamp(1, cores.max(1))
}

/// The machine's MemAvailable, bytes (0 when /proc/meminfo says nothing).
fn mem_available() -> u64 {
    let mut text = String::new();
    let _ = std::fs::File::open("/proc/meminfo").and_then(|mut f| f.read_to_string(&mut text));
    text.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib << 10)
}

struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Slots { free: Mutex::new(slots_for(cores, mem_available(), compile_bytes())), freed: Condvar::new() }
    })
}

/// A place among the modules that may compile at once, held until dropped.
pub struct CompileSlot(());

/// Waits for a place to compile in.
pub fn compile_slot() -> CompileSlot {
    let s = slots();
    let mut free = s.free.lock().unwrap_or_else(|e| e.into_inner());
    while *free == 0 {
        free = s.freed.wait(free).unwrap_or_else(|e| e.into_inner());
    }
    *free -= 1;
    CompileSlot(())
}

impl Drop for CompileSlot {
    fn drop(&mut self) {
        let s = slots();
        *s.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        s.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_at_once_follow_cores_and_memory() {
        const GIB: u64 = 1 << 30;
        // (cores, available, allowance) → slots
        let cases = [
            (2, 19 * GIB, 2 * GIB, 2),
            (16, 19 * GIB, 2 * GIB, 4),
            (16, 3 * GIB, 2 * GIB, 1),
            (4, 0, 2 * GIB, 1),
            (0, 64 * GIB, 2 * GIB, 1),
            (8, 64 * GIB, 512 << 20, 8),
        ];
        for (cores, available, allowance, slots) in cases {
            assert_eq!(slots_for(cores, available, allowance), slots, "{cores} cores, {available} available, {allowance} each");
        }
    }

    /// The variable's values: a whole number of MiB in range, else one
    /// line naming it.
    #[test]
    fn the_compile_allowance_is_read_or_refused() {
        assert_eq!(parse_compile_mib("512").ok(), Some(512));
        assert_eq!(parse_compile_mib(" 64 ").ok(), Some(64));
        for bad in ["abc", "-5", "0", "63", "1.5", "", "99999999999"] {
            let err = parse_compile_mib(bad).unwrap_err().to_string();
            assert!(err.contains(COMPILE_MEMORY_ENV) && err.contains("from 64 to"), "{bad}: {err}");
        }
    }
}
