//! The fork server: a small single-threaded process, started once, that
//! forks one child per native run, enforces its CPU budget, drains the
//! child's output into bounded tails, reaps it with wait4 and reports back.
//! AFL made this pattern standard: no exec and no re-initialisation per run.
//!
//! It never loads wasmtime, so children inherit no engine state and no
//! engine signal handlers: only what a plain Rust program has.

use super::child;
use super::exec::{self, Prepared, ReportLines};
use super::region::{Region, now_ns};
use crate::limits::Deadline;
use crate::outcome::Signal;
use crate::protocol::{ChildStatus, InjectionReport, NativeObservation, NativeRequest, TailBuffer};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal as NixSignal, kill, killpg};
use nix::sys::signalfd::SignalFd;
use nix::unistd::{ForkResult, Pid, fork};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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

/// Runs `serve` on a thread of its own whose stack is the default scenario
/// stack (`Limits::native_stack_kib`), and returns what it returns. The
/// fork server forks from that thread, so a child finds itself on a stack
/// of exactly the size most scenarios ask for, with Rust's guard page
/// below it: it runs the scenario there instead of creating a thread (and
/// tearing down two at its death), which is most of what a native cycle
/// costs above the platform's floor. The process's main thread only waits;
/// it holds no lock a child could inherit, and the termination signals are
/// blocked in it so that only the fork server's signalfd takes them.
pub fn on_fork_thread<T: Send>(serve: impl FnOnce(Option<u64>) -> T + Send) -> std::io::Result<T> {
    termination_signals().thread_block().map_err(std::io::Error::from)?;
    let stack = crate::limits::Limits::default().native_stack_kib << 10;
    std::thread::scope(|scope| {
        let server = std::thread::Builder::new()
            .name("fb-scenario".into())
            .stack_size(stack as usize)
            .spawn_scoped(scope, move || serve(Some(stack)))?;
        server.join().map_err(|_| std::io::Error::other("the fork server thread panicked"))
    })
}

/// Everything a fork server needs between runs.
pub struct ForkServer {
    region: &'static Region,
    signals: SignalFd,
    last: CycleParts,
    dev_null: OwnedFd,
    /// This process's `/proc/self/statm` and `children`, kept open: read
    /// on every run.
    statm: std::fs::File,
    /// The `children` files of this thread (the children it forks) and of
    /// the main thread (the orphans the kernel hands this subreaper).
    children: Vec<std::fs::File>,
    /// The buffer the child's output is read into. Mapped MADV_DONTFORK:
    /// a child does not share it, so filling it while the child lives
    /// costs no copy-on-write faults (a 64 KiB buffer touched after fork
    /// cost ~60 µs per run).
    read_buf: &'static mut [u8],
    /// Guest libraries dlopen'd so far (`NativeRequest::library`), by path.
    libraries: super::library::Libraries,
    /// The stack of the thread this fork server forks from, if known
    /// ([`on_fork_thread`]): a child whose scenario asks for exactly that
    /// runs it there, with no thread of its own to create.
    fork_thread_stack: Option<u64>,
    /// Who the guests run as, and what they may not signal.
    confine: child::Confine,
    /// How the CPU of a guest and of everything it started is counted.
    cpu: crate::process::GuestCpu,
}

/// Where the last run's time went, in nanoseconds, for `faultbox bench`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CycleParts {
    /// Pipes and region reset, before fork.
    pub prepare_ns: u64,
    /// fork() as the fork server sees it.
    pub fork_ns: u64,
    /// From calling fork to the child's first instruction: the fork, and
    /// the child being scheduled.
    pub child_start_ns: u64,
    /// In the child: from its first instruction to ready to run the
    /// scenario (signal mask, process group, descriptors, memory limit).
    pub child_setup_ns: u64,
    /// In the child: starting the scenario on its own stack.
    pub scenario_start_ns: u64,
    /// From entering the scenario to the fork server seeing the child gone:
    /// the fault, the process's death, and the wake-up.
    pub fault_to_death_seen_ns: u64,
    /// wait4, strays, the report region and the output tails.
    pub reap_ns: u64,
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
    /// `fork_thread_stack`: the stack size of the calling thread, when it
    /// is the thread [`on_fork_thread`] started.
    pub fn new(fork_thread_stack: Option<u64>) -> anyhow::Result<ForkServer> {
        // Orphans of a child (its strays) are re-parented here, so that
        // they can be found and killed after the run.
        crate::process::become_subreaper()?;
        // A guest of the same user must not trace this process.
        crate::process::make_undumpable()?;
        // Into the guests' cgroup, if there is one, before the first fork.
        let cpu = crate::process::GuestCpu::new();
        let confine = child::Confine::for_fork_server();
        let signals = crate::process::termination_fd(&termination_signals())?;
        let region = Region::map()?;
        child::prepare_process()?;
        let dev_null = std::fs::File::open("/dev/null")?.into();
        let statm = crate::process::open_statm()?;
        let children = crate::process::open_children_files()?;
        let read_buf = crate::process::unforked_buffer(64 * 1024)?;
        Ok(ForkServer {
            region,
            signals,
            last: CycleParts::default(),
            dev_null,
            fork_thread_stack,
            statm,
            children,
            read_buf,
            libraries: Default::default(),
            confine,
            cpu,
        })
    }

    /// The signalfd, to wait on between requests.
    pub fn signal_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.signals.as_fd()
    }

    /// Reads a pending termination signal, if any: the exit code it asks for.
    pub fn pending_termination(&self) -> Option<i32> {
        crate::process::pending_termination(&self.signals)
    }

    /// Forks one child for `req`, watches it until it ends or its deadline
    /// passes, and reports what happened. With `req.exec`, the child execs
    /// the program, which reports through a third pipe; a program that
    /// could not be exec'd is the fork server's failure, not an
    /// observation.
    pub fn run(&mut self, req: &NativeRequest) -> Result<NativeObservation, ServerError> {
        let t0 = now_ns();
        // An exec'd guest's argv, environment and limit, and its two extra
        // pipes (reports; the exec's failure), before the fork: a linked
        // guest's run makes none of these calls.
        let exec = match &req.exec {
            None => None,
            Some(g) => {
                let prepared = Prepared::new(g, &req.limits, self.confine.identity).map_err(ServerError::Failed)?;
                // A program faultbox did not build gets no report channel.
                let report = match g.reports {
                    true => Some(pipe().map_err(|e| failed("pipe", e))?),
                    false => None,
                };
                let status = pipe().map_err(|e| failed("pipe", e))?;
                Some((prepared, report, status))
            }
        };
        // A library's entry is resolved here, its library loaded once: in
        // the address space every child starts with, below its limit. A
        // library that cannot be loaded is the fork server's failure.
        let library = match &req.library {
            None => None,
            Some(path) => Some(self.libraries.entry(path, &req.entry).map_err(ServerError::Failed)?),
        };
        let (out_r, out_w) = pipe().map_err(|e| failed("pipe", e))?;
        let (err_r, err_w) = pipe().map_err(|e| failed("pipe", e))?;
        self.region.reset();
        let me = nix::unistd::getpid();
        // A linked guest's memory limit counts above the address space it
        // starts with; an exec'd one starts afresh.
        let address_space = match exec {
            None => crate::process::address_space_bytes(&self.statm).map_err(|e| failed("/proc/self/statm", e))?,
            Some(_) => 0,
        };
        let cpu_mark = self.cpu.mark();
        let started = Instant::now();
        let t_fork = now_ns();
        // SAFETY: the fork server is single-threaded, so the child may run
        // arbitrary code after fork.
        let pid = match unsafe { fork() }.map_err(|e| failed("fork", e))? {
            ForkResult::Child => {
                self.region.mark_entered();
                drop((out_r, err_r));
                let isolation =
                    child::Isolation { parent: me, stdout: out_w, stderr: err_w, dev_null: self.dev_null.as_raw_fd(), confine: self.confine };
                if let Some((prepared, report, (status_r, status_w))) = exec {
                    drop(status_r);
                    let report = report.map(|(report_r, report_w)| {
                        drop(report_r);
                        report_w
                    });
                    exec::run(&prepared, exec::Launch { isolation, region: self.region, report, status: status_w })
                }
                let launch = child::Launch { region: self.region, isolation, address_space, fork_thread_stack: self.fork_thread_stack };
                match library {
                    Some(entry) => child::run_library(req, launch, entry),
                    None => child::run(req, launch),
                }
            }
            ForkResult::Parent { child } => child,
        };
        let t_forked = now_ns();
        drop((out_w, err_w));
        // The parent keeps the read ends only. An exec'd program's run is
        // read from its lines: none at all for a program without a channel,
        // never the region, which its exec left behind.
        let exec = exec.map(|(_, report, (status_r, _))| (report.map(|(report_r, _)| report_r), status_r));
        let (lines, report_r, status_r) = match exec {
            Some((report, status)) => (Some(ReportLines::default()), report, Some(status)),
            None => (None, None, None),
        };
        // Also set the group from this side: no window in which a kill of
        // the group would miss the child.
        let _ = nix::unistd::setpgid(pid, pid);
        let budget = Budget { started, cpu: req.limits.cpu_budget(), cpu_mark, wall_until: started + req.limits.wall_backstop() };
        let inject = req.inject.map(|signal| Injecting { signal, sent_after_us: None, still_pending: None });
        let watched = match self.watch(pid, out_r, err_r, (lines, report_r), budget, inject) {
            Ok(w) => w,
            Err(e) => {
                // Whatever stopped the watch, the child and its strays go.
                let _ = killpg(pid, NixSignal::SIGKILL);
                let _ = kill(pid, NixSignal::SIGKILL);
                let _ = wait4(pid);
                kill_strays(&self.children, pid);
                return Err(e);
            }
        };
        let death_ns = now_ns();
        let (status, rusage) = wait4(pid).map_err(|e| failed("wait4", e))?;
        let wall_us = started.elapsed().as_micros() as u64;
        let strays_killed = kill_strays(&self.children, pid);
        if let Some(status) = status_r {
            // The child is gone and the pipe's write end closed at its exec
            // or its death: this read does not wait. A byte: the program
            // never ran, and the child's one line on stderr says why.
            let mut byte = [0u8; 1];
            if matches!(nix::unistd::read(&status, &mut byte), Ok(1)) {
                let why = watched.stderr.finish().tail;
                let why = match why.trim().lines().last() {
                    Some(line) => line.trim_start_matches("faultbox: ").to_string(),
                    None => format!("the child that was to exec `{}` failed before it", req.exec.as_ref().map_or("?".into(), |g| g.program.display().to_string())),
                };
                return Err(ServerError::Failed(why));
            }
        }
        let (entered, ready, mut start) = self.region.child_times_ns();
        let report = match watched.report {
            None => self.region.report(death_ns),
            Some(lines) => {
                // No region for a program: it enters the scenario when its
                // `started` line is read.
                start = lines.started_ns();
                lines.finish(t_fork, death_ns)
            }
        };
        let since = |from: u64, to: u64| to.saturating_sub(from);
        self.last = CycleParts {
            fork_ns: since(t_fork, t_forked),
            prepare_ns: since(t0, t_fork),
            child_start_ns: since(t_fork, entered),
            child_setup_ns: since(entered, ready),
            scenario_start_ns: since(ready, start),
            fault_to_death_seen_ns: since(start, death_ns),
            reap_ns: since(death_ns, now_ns()),
        };
        Ok(NativeObservation {
            status,
            killed_at: watched.killed,
            report,
            wall_us,
            // What the budget counted, if more: the CPU of descendants the
            // child did not reap (a stray that left its group).
            cpu_us: (tv_us(rusage.ru_utime) + tv_us(rusage.ru_stime)).max(watched.cpu_counted.as_micros() as u64),
            max_rss_kib: rusage.ru_maxrss as u64,
            stdout: watched.stdout.finish(),
            stderr: watched.stderr.finish(),
            strays_killed,
            injection: watched.injecting.map(|i| InjectionReport { signal: i.signal, sent_after_us: i.sent_after_us, still_pending: i.still_pending }),
        })
    }

    /// Where the last run's time went.
    pub fn last_cycle(&self) -> CycleParts {
        self.last
    }

    /// The platform's floor for one native cycle, measured from this same
    /// single-threaded process: fork a child that faults at once (a trap
    /// instruction), and reap it. No pipes, no threads, no rlimits, no
    /// report region. Returns the nanoseconds and how the child ended.
    pub fn fork_floor(&self) -> Result<(u64, ChildStatus), ServerError> {
        let t = now_ns();
        // SAFETY: single-threaded; the child only executes a trap.
        match unsafe { fork() }.map_err(|e| failed("fork", e))? {
            ForkResult::Child => {
                // SIGILL is blocked in no one here; a blocked synchronous
                // fault kills anyway.
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a trap instruction: the child dies of SIGILL.
                unsafe {
                    std::arch::asm!("ud2")
                };
                // SAFETY: not reached on x86_64; elsewhere the fault is an abort.
                unsafe { libc::abort() }
            }
            ForkResult::Parent { child } => {
                let (status, _) = wait4(child).map_err(|e| failed("wait4", e))?;
                Ok((now_ns() - t, status))
            }
        }
    }

    /// Polls the child's exit (pidfd), its output pipes and the signalfd,
    /// and kills the child when its CPU budget or its wall-clock backstop
    /// runs out.
    /// `report`: an exec'd guest's report lines, and its report pipe if it
    /// has one, read into `Watched::report` as a third stream.
    /// `inject`: a signal to send the child once it reports progress.
    fn watch(
        &mut self,
        pid: Pid,
        out: OwnedFd,
        err: OwnedFd,
        (lines, report): (Option<ReportLines>, Option<OwnedFd>),
        budget: Budget,
        inject: Option<Injecting>,
    ) -> Result<Watched, ServerError> {
        let pidfd = crate::process::pidfd_open(pid.as_raw()).map_err(|e| failed("pidfd_open", e))?;
        // The child's own CPU clock: what it burned, however busy the machine.
        let clock = crate::process::process_cpu_clock(pid.as_raw()).map_err(|e| failed("clock_getcpuclockid", e))?;
        let mut watched = Watched {
            stdout: TailBuffer::default(),
            stderr: TailBuffer::default(),
            report: lines,
            killed: None,
            injecting: inject,
            cpu_counted: Duration::ZERO,
        };
        let streams = [Some(out.as_fd()), Some(err.as_fd()), report.as_ref().map(|r| r.as_fd())];
        let mut open = streams.map(|s| s.is_some());
        // When the CPU of the child with all its descendants was last read,
        // and what it was.
        let mut group: Option<(Instant, Duration)> = None;
        let (buf, signals) = (&mut *self.read_buf, &self.signals);
        // Whether the one look before a budget kill was taken.
        let mut looked = false;
        loop {
            // Checked on every wake-up, not only on a poll timeout: a child
            // that floods its pipes keeps poll busy forever.
            let mut used = crate::process::cpu_time(clock);
            let now = Instant::now();
            // A child that spends wall time without CPU may be waiting for
            // processes it started, which burn the budget for it: count
            // everything descended from it too, in its process group or not.
            // Only then, and at most every 20 ms: the look reads the cgroup
            // or walks /proc, and a child that floods its pipes wakes this
            // loop thousands of times a second.
            if now.saturating_duration_since(budget.started) > used + Duration::from_millis(50) {
                let stale = group.is_none_or(|(at, _)| now.saturating_duration_since(at) >= Duration::from_millis(20));
                if stale {
                    group = Some((now, self.cpu.used(pid.as_raw() as u32, used, budget.cpu_mark)));
                }
                used = used.max(group.map_or(Duration::ZERO, |(_, cpu)| cpu));
            }
            watched.cpu_counted = watched.cpu_counted.max(used);
            let mut last_look = false;
            if watched.killed.is_none() {
                if let Some(deadline) = crate::limits::ran_out(used, budget.cpu, now, budget.wall_until) {
                    // A guest whose progress may sit unread in its pipe (the
                    // fork server was not scheduled in time) gets one look
                    // without waiting before the kill, so its signal is sent.
                    if watched.injecting.as_ref().is_some_and(|i| i.sent_after_us.is_none()) && !looked {
                        looked = true;
                        last_look = true;
                    } else {
                        // Alive until now: was the injected signal ever taken?
                        if let Some(i) = watched.injecting.as_mut().filter(|i| i.sent_after_us.is_some()) {
                            i.still_pending = crate::process::signal_pending(pid.as_raw(), i.signal.0);
                        }
                        let _ = killpg(pid, NixSignal::SIGKILL);
                        let _ = kill(pid, NixSignal::SIGKILL);
                        watched.killed = Some(deadline);
                    }
                }
            }
            // Wake up after half the CPU time left (a guest may burn it on
            // more than one thread), but never later than the CPU left or
            // the backstop, and at least every 10 ms near the end.
            let cpu_left = budget.cpu.saturating_sub(used);
            let mut remaining = cpu_left
                .min(budget.wall_until.saturating_duration_since(now))
                .min((cpu_left / 2).max(Duration::from_millis(10)));
            // A linked guest's progress is a counter in the region, not a
            // line on a pipe: while a signal waits for it, look every 1 ms.
            if watched.report.is_none() && watched.injecting.as_ref().is_some_and(|i| i.sent_after_us.is_none()) {
                remaining = remaining.min(Duration::from_millis(1));
            }
            let timeout = PollTimeout::try_from(remaining.as_millis().clamp(1, 60_000) as i32).unwrap_or(PollTimeout::MAX);
            let mut fds = vec![
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            ];
            let mut which = Vec::new();
            for (i, fd) in streams.iter().enumerate() {
                if let (Some(fd), true) = (fd, open[i]) {
                    fds.push(PollFd::new(*fd, PollFlags::POLLIN));
                    which.push(i);
                }
            }
            let ready = if watched.killed.is_some() {
                poll(&mut fds, PollTimeout::MAX)
            } else if last_look {
                poll(&mut fds, PollTimeout::ZERO)
            } else {
                poll(&mut fds, timeout)
            };
            match ready {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(failed("poll", e)),
            }
            let revents: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
            drop(fds);
            if revents[1].contains(PollFlags::POLLIN) {
                if let Some(code) = crate::process::pending_termination(signals) {
                    return Err(ServerError::Terminated(code));
                }
            }
            for (slot, i) in which.iter().enumerate() {
                let ev = revents[2 + slot];
                if let (Some(fd), true) = (streams[*i], ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)) {
                    match nix::unistd::read(fd, buf) {
                        Ok(0) => open[*i] = false,
                        Ok(n) => watched.take(*i, &buf[..n]),
                        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                        Err(_) => open[*i] = false,
                    }
                }
            }
            // The guest is ready: the signal goes now, before the budget is
            // looked at again, so a guest that reported progress in time
            // always gets it.
            // A child already gone is sent nothing: its end is its own.
            if watched.killed.is_none() && !revents[0].contains(PollFlags::POLLIN) {
                let progressed = match &watched.report {
                    Some(lines) => lines.progressed(),
                    None => self.region.progressed(),
                };
                if let Some(i) = watched.injecting.as_mut().filter(|i| i.sent_after_us.is_none() && progressed) {
                    // SAFETY: kill(2) with integers; the child is unreaped, so
                    // the pid is still its own.
                    unsafe { libc::kill(pid.as_raw(), i.signal.0) };
                    i.sent_after_us = Some(budget.started.elapsed().as_micros() as u64);
                }
            }
            if revents[0].contains(PollFlags::POLLIN) {
                // The child is gone. Stop what is left of its group first,
                // then take what is already in the pipes, without waiting for
                // EOF and at most DRAIN_CAP: a stray that left the group may
                // hold them open and keep writing.
                let _ = killpg(pid, NixSignal::SIGKILL);
                for (i, fd) in streams.iter().enumerate() {
                    let Some(fd) = fd else { continue };
                    crate::process::set_nonblocking(fd.as_raw_fd());
                    let mut drained = 0;
                    while drained < DRAIN_CAP {
                        match nix::unistd::read(*fd, buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                watched.take(i, &buf[..n]);
                                drained += n;
                            }
                        }
                    }
                }
                return Ok(watched);
            }
        }
    }
}

struct Watched {
    stdout: TailBuffer,
    stderr: TailBuffer,
    /// An exec'd guest's report lines.
    report: Option<ReportLines>,
    /// The budget that ran out, if the fork server killed the child.
    killed: Option<Deadline>,
    /// The signal to send once the child reports progress, and how that went.
    injecting: Option<Injecting>,
    /// The most CPU the budget counted for the child and its descendants.
    cpu_counted: Duration,
}

/// An injected signal in flight.
struct Injecting {
    signal: crate::outcome::Signal,
    /// µs from the fork to the kill; `None` until sent.
    sent_after_us: Option<u64>,
    still_pending: Option<bool>,
}

impl Watched {
    /// Bytes read from stream `i`: stdout, stderr, the report pipe.
    fn take(&mut self, i: usize, bytes: &[u8]) {
        match (i, &mut self.report) {
            (0, _) => self.stdout.push(bytes),
            (1, _) => self.stderr.push(bytes),
            (_, Some(lines)) => lines.push(bytes, now_ns()),
            (_, None) => {}
        }
    }
}

/// What a child may use: CPU time, and a much larger wall-clock backstop.
struct Budget {
    started: Instant,
    cpu: Duration,
    /// What the guests' CPU counters read before the fork.
    cpu_mark: crate::process::CpuMark,
    wall_until: Instant,
}

fn pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
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
/// `children` are this process's open `/proc/<pid>/task/<tid>/children`.
fn kill_strays(children: &[std::fs::File], pgid: Pid) -> u32 {
    let _ = killpg(pgid, NixSignal::SIGKILL);
    let mut killed = 0;
    // Killing a stray re-parents its own children here: repeat until none.
    for _ in 0..64 {
        let children: Vec<Pid> = children.iter().flat_map(crate::process::children_listed).map(Pid::from_raw).collect();
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
