//! The fork server: a small single-threaded process, started once, that
//! forks one child per native run, enforces the deadline, drains the
//! child's output into bounded tails, reaps it with wait4 and reports back.
//! AFL made this pattern standard: no exec and no re-initialisation per run.
//!
//! It never loads wasmtime, so children inherit no engine state and no
//! engine signal handlers: only what a plain Rust program has.

use super::child;
use super::region::{Region, now_ns};
use crate::outcome::Signal;
use crate::worker::protocol::{ChildStatus, NativeObservation, NativeRequest, TailBuffer};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal as NixSignal, kill, killpg};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{ForkResult, Pid, fork};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// Signals that stop the fork server; read from a signalfd so that the
/// cleanup (kill the running child's group, reap) runs in normal context.
fn termination_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(NixSignal::SIGTERM);
    set.add(NixSignal::SIGINT);
    set.add(NixSignal::SIGHUP);
    set
}

/// Everything a fork server needs between runs.
pub struct ForkServer {
    region: &'static Region,
    signals: SignalFd,
}

/// Why the fork server could not finish a run.
#[derive(Debug)]
pub enum ServerError {
    /// A termination signal arrived: the fork server should exit with this
    /// code (the running child and its strays are already gone).
    Terminated(i32),
    /// The fork server itself failed (pipe, fork, poll, wait4): not a fault
    /// of the guest.
    Failed(String),
}

fn failed(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Failed(format!("fork server: {what}: {e}"))
}

/// The most output read from a finished child's pipes: a stray that left
/// the child's group can keep them open and full.
const DRAIN_CAP: usize = 1 << 20;

impl ForkServer {
    pub fn new() -> anyhow::Result<ForkServer> {
        // Orphans of a child (its strays) are re-parented here, so that
        // they can be found and killed after the run.
        // SAFETY: plain prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
        let set = termination_signals();
        set.thread_block()?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(ForkServer { region: Region::map()?, signals })
    }

    /// The signalfd, to wait on between requests.
    pub fn signal_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.signals.as_fd()
    }

    /// Reads a pending termination signal, if any: the exit code it asks for.
    pub fn pending_termination(&self) -> Option<i32> {
        self.signals.read_signal().ok().flatten().map(|s| 128 + s.ssi_signo as i32)
    }

    /// Forks one child for `req`, watches it until it ends or its deadline
    /// passes, and reports what happened.
    pub fn run(&mut self, req: &NativeRequest) -> Result<NativeObservation, ServerError> {
        let (out_r, out_w) = pipe().map_err(|e| failed("pipe", e))?;
        let (err_r, err_w) = pipe().map_err(|e| failed("pipe", e))?;
        self.region.reset();
        let me = nix::unistd::getpid();
        let started = Instant::now();
        // SAFETY: the fork server is single-threaded, so the child may run
        // arbitrary code after fork.
        let pid = match unsafe { fork() }.map_err(|e| failed("fork", e))? {
            ForkResult::Child => {
                drop((out_r, err_r));
                child::run(req, self.region, me, out_w, err_w)
            }
            ForkResult::Parent { child } => child,
        };
        drop((out_w, err_w));
        // Also set the group from this side: no window in which a kill of
        // the group would miss the child.
        let _ = nix::unistd::setpgid(pid, pid);
        let deadline = started + Duration::from_millis(req.limits.timeout_ms);
        let watched = match self.watch(pid, out_r, err_r, deadline) {
            Ok(w) => w,
            Err(e) => {
                // Whatever stopped the watch, the child and its strays go.
                let _ = killpg(pid, NixSignal::SIGKILL);
                let _ = kill(pid, NixSignal::SIGKILL);
                let _ = wait4(pid);
                kill_strays(pid);
                return Err(e);
            }
        };
        let death_ns = now_ns();
        let (status, rusage) = wait4(pid).map_err(|e| failed("wait4", e))?;
        let wall_us = started.elapsed().as_micros() as u64;
        let strays_killed = kill_strays(pid);
        Ok(NativeObservation {
            status,
            killed_at_deadline: watched.killed,
            report: self.region.report(death_ns),
            wall_us,
            cpu_us: tv_us(rusage.ru_utime) + tv_us(rusage.ru_stime),
            max_rss_kib: rusage.ru_maxrss as u64,
            stdout: watched.stdout.finish(),
            stderr: watched.stderr.finish(),
            strays_killed,
        })
    }

    /// Polls the child's exit (pidfd), its output pipes and the signalfd.
    fn watch(&self, pid: Pid, out: OwnedFd, err: OwnedFd, deadline: Instant) -> Result<Watched, ServerError> {
        let pidfd = crate::process::pidfd_open(pid.as_raw()).map_err(|e| failed("pidfd_open", e))?;
        let mut watched = Watched { stdout: TailBuffer::default(), stderr: TailBuffer::default(), killed: false };
        let mut open = [true, true];
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = PollTimeout::try_from(remaining.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
            let mut fds = vec![
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            ];
            let streams = [out.as_fd(), err.as_fd()];
            let mut which = Vec::new();
            for (i, fd) in streams.iter().enumerate() {
                if open[i] {
                    fds.push(PollFd::new(*fd, PollFlags::POLLIN));
                    which.push(i);
                }
            }
            let ready = if watched.killed { poll(&mut fds, PollTimeout::MAX) } else { poll(&mut fds, timeout) };
            match ready {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(failed("poll", e)),
            }
            let revents: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
            drop(fds);
            if revents[1].contains(PollFlags::POLLIN) {
                if let Some(code) = self.pending_termination() {
                    return Err(ServerError::Terminated(code));
                }
            }
            for (slot, i) in which.iter().enumerate() {
                let ev = revents[2 + slot];
                if ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                    let fd = streams[*i];
                    let tail = if *i == 0 { &mut watched.stdout } else { &mut watched.stderr };
                    match nix::unistd::read(fd, &mut buf) {
                        Ok(0) => open[*i] = false,
                        Ok(n) => tail.push(&buf[..n]),
                        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                        Err(_) => open[*i] = false,
                    }
                }
            }
            if revents[0].contains(PollFlags::POLLIN) {
                // The child is gone. Stop what is left of its group first,
                // then take what is already in the pipes, without waiting for
                // EOF and at most DRAIN_CAP: a stray that left the group may
                // hold them open and keep writing.
                let _ = killpg(pid, NixSignal::SIGKILL);
                for (i, fd) in streams.iter().enumerate() {
                    let tail = if i == 0 { &mut watched.stdout } else { &mut watched.stderr };
                    set_nonblocking(*fd);
                    let mut drained = 0;
                    while drained < DRAIN_CAP {
                        match nix::unistd::read(*fd, &mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                tail.push(&buf[..n]);
                                drained += n;
                            }
                        }
                    }
                }
                return Ok(watched);
            }
            // Checked on every wake-up, not only on a poll timeout: a child
            // that floods its pipes keeps poll busy forever.
            if !watched.killed && Instant::now() >= deadline {
                let _ = killpg(pid, NixSignal::SIGKILL);
                let _ = kill(pid, NixSignal::SIGKILL);
                watched.killed = true;
            }
        }
    }
}

struct Watched {
    stdout: TailBuffer,
    stderr: TailBuffer,
    killed: bool,
}

fn pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
}

fn set_nonblocking(fd: std::os::fd::BorrowedFd<'_>) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    if let Ok(flags) = fcntl(fd, FcntlArg::F_GETFL) {
        let _ = fcntl(fd, FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK));
    }
}

/// Reaps `pid`, returning how it ended and its resource usage.
fn wait4(pid: Pid) -> std::io::Result<(ChildStatus, libc::rusage)> {
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; wait4 fills it.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 with pointers to our locals.
        let r = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut rusage) };
        if r == pid.as_raw() {
            break;
        }
        let e = std::io::Error::last_os_error();
        if r < 0 && e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let status = if libc::WIFSIGNALED(status) {
        ChildStatus::Signaled { signal: Signal(libc::WTERMSIG(status)), core_dumped: libc::WCOREDUMP(status) }
    } else {
        ChildStatus::Exited { code: libc::WEXITSTATUS(status) }
    };
    Ok((status, rusage))
}

fn tv_us(tv: libc::timeval) -> u64 {
    tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64
}

/// Kills what a child left behind: its process group, and every process
/// re-parented to this subreaper (strays whose parent died, including those
/// that left the group with setsid). Returns how many it reaped.
pub fn kill_strays(pgid: Pid) -> u32 {
    let _ = killpg(pgid, NixSignal::SIGKILL);
    let mut killed = 0;
    // Killing a stray re-parents its own children here: repeat until none.
    for _ in 0..64 {
        let children = own_children();
        if children.is_empty() {
            break;
        }
        for child in children {
            let _ = killpg(child, NixSignal::SIGKILL);
            let _ = kill(child, NixSignal::SIGKILL);
            let _ = wait4(child);
            killed += 1;
        }
    }
    killed
}

/// This process's children, from /proc/self/task/<tid>/children.
fn own_children() -> Vec<Pid> {
    let me = std::process::id();
    std::fs::read_to_string(format!("/proc/{me}/task/{me}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .map(Pid::from_raw)
        .collect()
}

