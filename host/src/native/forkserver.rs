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
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
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

/// A termination signal arrived: the caller should exit with this code.
#[derive(Debug)]
pub struct Terminated(pub i32);

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

    /// Reads a pending termination signal, if any.
    pub fn pending_termination(&self) -> Option<Terminated> {
        self.signals.read_signal().ok().flatten().map(|s| Terminated(128 + s.ssi_signo as i32))
    }

    /// Forks one child for `req`, watches it until it ends or its deadline
    /// passes, and reports what happened.
    pub fn run(&mut self, req: &NativeRequest) -> Result<NativeObservation, Terminated> {
        let (out_r, out_w) = pipe().expect("pipe");
        let (err_r, err_w) = pipe().expect("pipe");
        self.region.reset();
        let started = Instant::now();
        // SAFETY: the fork server is single-threaded, so the child may run
        // arbitrary code after fork.
        let pid = match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                drop((out_r, err_r));
                child::run(req, self.region, out_w, err_w)
            }
            ForkResult::Parent { child } => child,
        };
        drop((out_w, err_w));
        // Also set the group from this side: no window in which a kill of
        // the group would miss the child.
        let _ = nix::unistd::setpgid(pid, pid);
        let deadline = started + Duration::from_millis(req.limits.timeout_ms);
        let watched = self.watch(pid, out_r, err_r, deadline)?;
        let death_ns = now_ns();
        let (status, rusage) = wait4(pid);
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
    fn watch(&self, pid: Pid, out: OwnedFd, err: OwnedFd, deadline: Instant) -> Result<Watched, Terminated> {
        let pidfd = pidfd_open(pid);
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
                Err(e) => panic!("poll: {e}"),
            }
            let revents: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
            drop(fds);
            if revents[1].contains(PollFlags::POLLIN) {
                if let Some(t) = self.pending_termination() {
                    let _ = killpg(pid, NixSignal::SIGKILL);
                    let _ = kill(pid, NixSignal::SIGKILL);
                    wait4(pid);
                    kill_strays(pid);
                    return Err(t);
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
                // The child is gone; take what is already in the pipes, but
                // do not wait for EOF: a stray may hold them open.
                for (i, fd) in streams.iter().enumerate() {
                    let tail = if i == 0 { &mut watched.stdout } else { &mut watched.stderr };
                    set_nonblocking(*fd);
                    while let Ok(n) = nix::unistd::read(*fd, &mut buf) {
                        if n == 0 {
                            break;
                        }
                        tail.push(&buf[..n]);
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

/// A pidfd becomes readable when the process exits (Linux 5.3+).
fn pidfd_open(pid: Pid) -> OwnedFd {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: the fd was just returned to us and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Reaps `pid`, returning how it ended and its resource usage.
pub fn wait4(pid: Pid) -> (ChildStatus, libc::rusage) {
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; wait4 fills it.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 with pointers to our locals.
        let r = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut rusage) };
        if r == pid.as_raw() {
            break;
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            panic!("wait4({pid}): {}", std::io::Error::last_os_error());
        }
    }
    let status = if libc::WIFSIGNALED(status) {
        ChildStatus::Signaled { signal: Signal(libc::WTERMSIG(status)), core_dumped: libc::WCOREDUMP(status) }
    } else {
        ChildStatus::Exited { code: libc::WEXITSTATUS(status) }
    };
    (status, rusage)
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
            wait4(child);
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

