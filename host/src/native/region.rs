//! The report region: memory shared between the fork server and its child,
//! written by the child while it runs and read after it is gone, so that
//! what the child saw (depth reached, panic messages, refused allocations)
//! survives its death.

use crate::outcome::Progress;
use crate::protocol::{ChildReport, ChildStage};
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering::Relaxed};

const MAX_PANICS: usize = 4;
const PANIC_TEXT: usize = 2048;

const STAGE_RUNNING: u32 = 1;
const STAGE_COMPLETED: u32 = 2;
const STAGE_RECOVERED: u32 = 3;

#[repr(C)]
pub struct Region {
    fork_ns: AtomicU64,
    entered_ns: AtomicU64,
    ready_ns: AtomicU64,
    start_ns: AtomicU64,
    end_ns: AtomicU64,
    health_start_ns: AtomicU64,
    health_end_ns: AtomicU64,
    /// When the panic hook first ran.
    fault_ns: AtomicU64,
    stage: AtomicU32,
    value: AtomicI64,
    progress_last: AtomicI64,
    progress_reports: AtomicU64,
    /// HostOp + 1 while a host call runs; 0 otherwise.
    host_call: AtomicI32,
    alloc_failures: AtomicU64,
    first_failed_alloc: AtomicU64,
    health_done: AtomicU32,
    health: AtomicI64,
    panic_count: AtomicU32,
    panic_len: [AtomicU32; MAX_PANICS],
    panic_text: [UnsafeCell<[u8; PANIC_TEXT]>; MAX_PANICS],
}

// SAFETY: the text buffers are written only by the panic hook of the one
// child that owns a slot (claimed through `panic_count`) and read by the
// parent after that child is dead.
unsafe impl Sync for Region {}

/// The region of this (child) process, once installed.
static CURRENT: AtomicPtr<Region> = AtomicPtr::new(std::ptr::null_mut());

pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Region {
    /// Maps a region shared with every child forked afterwards.
    pub fn map() -> anyhow::Result<&'static Region> {
        let len = std::num::NonZeroUsize::new(std::mem::size_of::<Region>()).unwrap();
        // SAFETY: a fresh anonymous shared mapping, zero-filled by the
        // kernel, which is a valid `Region` (all atomics and bytes). It is
        // never unmapped, so the reference is 'static.
        let ptr = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                len,
                nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
                nix::sys::mman::MapFlags::MAP_SHARED,
            )?
        };
        Ok(unsafe { &*(ptr.as_ptr() as *const Region) })
    }

    /// Maps a region in a memfd, for a process that execs rather than
    /// forks ([`Region::map_fd`] in it): the fork+exec baseline of
    /// `faultbox bench` reports into it as a forked child does.
    pub fn map_memfd() -> anyhow::Result<(&'static Region, std::os::fd::OwnedFd)> {
        let fd = nix::sys::memfd::memfd_create(c"faultbox-region", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)?;
        nix::unistd::ftruncate(&fd, std::mem::size_of::<Region>() as i64)?;
        let region = Self::map_fd(std::os::fd::AsRawFd::as_raw_fd(&fd))?;
        Ok((region, fd))
    }

    /// Maps the region in the memfd `fd` ([`Region::map_memfd`]), shared
    /// with whoever else maps it; an error if it is not one (its size).
    pub fn map_fd(fd: std::os::fd::RawFd) -> anyhow::Result<&'static Region> {
        let size = std::mem::size_of::<Region>();
        // SAFETY: the caller's descriptor, borrowed for these calls only.
        let file = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let stat = nix::sys::stat::fstat(file)?;
        anyhow::ensure!(stat.st_size as usize == size, "descriptor {fd} is not a report region ({} bytes)", stat.st_size);
        // SAFETY: a shared mapping of a file of exactly a `Region`'s size,
        // zero-filled when made (valid: all atomics and bytes), never
        // unmapped: 'static.
        let ptr = unsafe {
            nix::sys::mman::mmap(
                None,
                std::num::NonZeroUsize::new(size).unwrap(),
                nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
                nix::sys::mman::MapFlags::MAP_SHARED,
                file,
                0,
            )?
        };
        Ok(unsafe { &*(ptr.as_ptr() as *const Region) })
    }

    /// Clears the region before the next child.
    pub fn reset(&self) {
        // SAFETY: no child is alive while the fork server resets the region,
        // and all-zero is a valid state.
        unsafe { std::ptr::write_bytes(self as *const Region as *mut Region, 0, 1) };
        self.fork_ns.store(now_ns(), Relaxed);
    }

    /// Makes this region the current process's report target (in the child).
    pub fn install(&'static self) {
        CURRENT.store(self as *const Region as *mut Region, Relaxed);
    }

    pub fn current() -> Option<&'static Region> {
        NonNull::new(CURRENT.load(Relaxed)).map(|p| unsafe { &*p.as_ptr() })
    }

    pub fn mark_entered(&self) {
        self.entered_ns.store(now_ns(), Relaxed);
    }

    pub fn mark_ready(&self) {
        self.ready_ns.store(now_ns(), Relaxed);
    }

    pub fn mark_started(&self) {
        self.start_ns.store(now_ns(), Relaxed);
        self.stage.store(STAGE_RUNNING, Relaxed);
    }

    pub fn mark_completed(&self, value: i64) {
        self.end_ns.store(now_ns(), Relaxed);
        self.value.store(value, Relaxed);
        self.stage.store(STAGE_COMPLETED, Relaxed);
    }

    pub fn mark_recovered(&self) {
        self.end_ns.store(now_ns(), Relaxed);
        self.stage.store(STAGE_RECOVERED, Relaxed);
    }

    pub fn mark_health_started(&self) {
        self.health_start_ns.store(now_ns(), Relaxed);
    }

    pub fn record_health(&self, value: i64) {
        self.health.store(value, Relaxed);
        self.health_end_ns.store(now_ns(), Relaxed);
        self.health_done.store(1, Relaxed);
    }

    pub fn record_progress(&self, value: i64) {
        self.progress_last.store(value, Relaxed);
        self.progress_reports.fetch_add(1, Relaxed);
    }

    pub fn set_host_call(&self, op: Option<i32>) {
        self.host_call.store(op.map_or(0, |op| op + 1), Relaxed);
    }

    pub fn record_alloc_failure(&self, bytes: usize) {
        if self.alloc_failures.fetch_add(1, Relaxed) == 0 {
            self.first_failed_alloc.store(bytes as u64, Relaxed);
        }
    }

    /// Called from the panic hook: a bounded copy into the slot this call
    /// claims, safe however many panics race.
    pub fn record_panic(&self, message: &str) {
        let _ = self.fault_ns.compare_exchange(0, now_ns(), Relaxed, Relaxed);
        let slot = self.panic_count.fetch_add(1, Relaxed) as usize;
        if slot >= MAX_PANICS {
            return;
        }
        let bytes = &message.as_bytes()[..message.len().min(PANIC_TEXT)];
        // SAFETY: `slot` was claimed above by this call alone.
        unsafe { (&mut *self.panic_text[slot].get())[..bytes.len()].copy_from_slice(bytes) };
        self.panic_len[slot].store(bytes.len() as u32, Relaxed);
    }

    /// When the child ran its first instruction, was ready to run the
    /// scenario, and entered it (monotonic ns; 0 where it never got).
    pub fn child_times_ns(&self) -> (u64, u64, u64) {
        (self.entered_ns.load(Relaxed), self.ready_ns.load(Relaxed), self.start_ns.load(Relaxed))
    }

    /// What the child reported; `death_ns` is when the parent saw it end.
    pub fn report(&self, death_ns: u64) -> ChildReport {
        let stage = match self.stage.load(Relaxed) {
            STAGE_RUNNING => ChildStage::Running,
            STAGE_COMPLETED => ChildStage::Completed,
            STAGE_RECOVERED => ChildStage::Recovered,
            _ => ChildStage::NotStarted, // 0: the region was reset before fork
        };
        let us = |from: u64, to: u64| (from != 0 && to >= from).then(|| (to - from) / 1000);
        let start = self.start_ns.load(Relaxed);
        let end = match self.end_ns.load(Relaxed) {
            0 => death_ns,
            e => e,
        };
        let panics = (0..(self.panic_count.load(Relaxed) as usize).min(MAX_PANICS))
            .map(|i| {
                let len = self.panic_len[i].load(Relaxed) as usize;
                // SAFETY: the writer is dead; `len` bytes were written.
                String::from_utf8_lossy(unsafe { &(&*self.panic_text[i].get())[..len] }).into_owned()
            })
            .collect();
        let reports = self.progress_reports.load(Relaxed);
        let health_done = self.health_done.load(Relaxed) == 1;
        ChildReport {
            stage,
            value: (stage == ChildStage::Completed).then(|| self.value.load(Relaxed)),
            panics,
            progress: (reports > 0).then(|| Progress { last: self.progress_last.load(Relaxed), reports }),
            host_call: match self.host_call.load(Relaxed) {
                0 => None,
                op => faultbox_guests::host::HostOp::from_i32(op - 1).map(|op| crate::host_ops::op_name(op).to_string()),
            },
            alloc_failures: self.alloc_failures.load(Relaxed),
            first_failed_alloc_bytes: self.first_failed_alloc.load(Relaxed),
            health: health_done.then(|| self.health.load(Relaxed)),
            startup_us: us(self.fork_ns.load(Relaxed), self.ready_ns.load(Relaxed)),
            call_us: us(start, end),
            fault_us: us(start, self.fault_ns.load(Relaxed)),
            health_us: us(self.health_start_ns.load(Relaxed), self.health_end_ns.load(Relaxed)),
            defers: Vec::new(),
            handled: None,
        }
    }

    /// Whether the child has reported progress yet: its readiness, for an
    /// injected signal. Read while the child runs.
    pub fn progressed(&self) -> bool {
        self.progress_reports.load(Relaxed) > 0
    }
}
