//! What runs inside the forked child: the scenario, wrapped in
//! `catch_unwind` (Rust's `recover`), with the configured stack, under the
//! configured memory limit. Everything the child learns goes into
//! the report region; the child never talks to the supervisor.

use super::region::Region;
use crate::protocol::NativeRequest;
use faultbox_guests::host::{self, HostOp, Hooks};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

pub use crate::protocol::EXIT_SETUP_FAILED;

/// What the fork server prepares before it forks, so that the child does
/// as little as possible between fork and the scenario: every page the
/// child writes is a copy-on-write fault, and every file it opens a path
/// walk.
pub struct Launch {
    pub region: &'static Region,
    pub isolation: Isolation,
    /// The address space the child starts with, in bytes: the memory limit
    /// is counted above it.
    pub address_space: u64,
    /// The stack of the thread the fork server forked from, if it is a
    /// thread of known size (`forkserver::on_fork_thread`). When the
    /// scenario asks for exactly that stack, it runs on the child's only
    /// thread, that one: the same stack a spawned thread would get, less
    /// the fork server's few frames, and the same overflow report, without
    /// a thread to create and tear down per run.
    pub fork_thread_stack: Option<u64>,
}

/// What makes a forked child a process of its own, linked guest or
/// exec'd program alike ([`isolate`]).
pub struct Isolation {
    /// The fork server: the child must not outlive it.
    pub parent: nix::unistd::Pid,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// An open `/dev/null`, for the child's stdin (the fork server keeps it).
    pub dev_null: RawFd,
    pub confine: Confine,
}

/// What keeps a guest away from faultbox's processes, decided once per
/// fork server.
#[derive(Clone, Copy, Debug)]
pub struct Confine {
    /// Who the guest runs as.
    pub identity: crate::process::GuestIdentity,
    /// For a guest of faultbox's own user: what it may not signal.
    pub filter: Option<&'static crate::process::SignalFilter>,
}

impl Confine {
    /// The confinement of the children of this process, a fork server
    /// whose parent is the supervisor: as root, another user; otherwise a
    /// filter that keeps the guest's signals off both.
    pub fn for_fork_server() -> Confine {
        Confine::protecting(nix::unistd::getpid(), nix::unistd::getppid())
    }

    /// The confinement of a guest whose fork server and supervisor are
    /// these processes. Built once: the filter is leaked.
    pub fn protecting(fork_server: nix::unistd::Pid, supervisor: nix::unistd::Pid) -> Confine {
        let identity = crate::process::GuestIdentity::for_this_process();
        let filter = match identity {
            crate::process::GuestIdentity::SameUser => {
                let group = |p: nix::unistd::Pid| nix::unistd::getpgid(Some(p)).map_or(0, |g| g.as_raw() as u32);
                // Group 1 and none (0) are never a target worth a rule.
                let groups: Vec<u32> = [group(fork_server), group(supervisor)].into_iter().filter(|&g| g > 1).collect();
                let pids = [fork_server.as_raw() as u32, supervisor.as_raw() as u32];
                crate::process::SignalFilter::new(&pids, &groups).map(|f| &*Box::leak(Box::new(f)))
            }
            crate::process::GuestIdentity::Unprivileged { .. } => None,
        };
        Confine { identity, filter }
    }
}

/// Becomes the scenario process. Never returns.
pub fn run(req: &NativeRequest, launch: Launch) -> ! {
    let region = launch.region;
    let on_fork_thread = launch.fork_thread_stack == Some(req.limits.native_stack_kib << 10);
    if let Err(e) = setup(req, launch) {
        let _ = writeln!(std::io::stderr(), "faultbox: native child setup failed: {e}");
        exit(EXIT_SETUP_FAILED);
    }
    let Some(entry) = faultbox_guests::entry(&req.entry) else {
        let _ = writeln!(std::io::stderr(), "faultbox: no guest function `{}`", req.entry);
        exit(EXIT_SETUP_FAILED);
    };
    let arg = req.arg;
    region.mark_ready();
    let scenario = move || {
        region.mark_started();
        match catch_unwind(AssertUnwindSafe(|| (entry.run)(arg))) {
            Ok(value) => region.mark_completed(value),
            Err(_) => region.mark_recovered(),
        }
        // Is this process still sound after what just happened?
        region.mark_health_started();
        let health = catch_unwind(faultbox_guests::health).unwrap_or(i64::MIN);
        region.record_health(health);
    };
    execute(req, on_fork_thread, scenario)
}

/// Becomes the scenario process of a shared library's entry
/// (`NativeRequest::library`), resolved by the fork server before the
/// fork: the same setup, limits and thread as a linked entry, without
/// `catch_unwind` (a C guest does not unwind; its own recovery reports
/// itself). Never returns.
pub fn run_library(req: &NativeRequest, launch: Launch, entry: super::library::LibraryEntry) -> ! {
    let region = launch.region;
    let on_fork_thread = launch.fork_thread_stack == Some(req.limits.native_stack_kib << 10);
    if let Err(e) = setup(req, launch) {
        let _ = writeln!(std::io::stderr(), "faultbox: native child setup failed: {e}");
        exit(EXIT_SETUP_FAILED);
    }
    let arg = req.arg;
    region.mark_ready();
    execute(req, on_fork_thread, move || super::library::run(entry, arg, region))
}

/// Runs `scenario` on the fork thread itself or on a thread with the
/// request's stack, then ends the process.
fn execute(req: &NativeRequest, on_fork_thread: bool, scenario: impl FnOnce() + Send + 'static) -> ! {
    if on_fork_thread {
        scenario();
    } else {
        let spawned = std::thread::Builder::new()
            .name("fb-scenario".into())
            .stack_size(req.limits.native_stack_kib as usize * 1024)
            .spawn(scenario);
        match spawned {
            Ok(handle) => {
                let _ = handle.join();
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "faultbox: cannot start the scenario thread: {e}");
                exit(EXIT_SETUP_FAILED);
            }
        }
    }
    let _ = std::io::stdout().flush();
    exit(0)
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit skips atexit handlers and stdio flushing the fork
    // server registered; the child owns nothing else that needs them.
    unsafe { libc::_exit(code) }
}

fn setup(req: &NativeRequest, launch: Launch) -> anyhow::Result<()> {
    let Launch { region, isolation, address_space, .. } = launch;
    isolate(isolation)?;
    // Nothing of the fork server's (its request pipe, its signalfd) is the
    // guest's business, nor its strays'.
    // Best effort, as before: a kernel without close_range (before 5.9)
    // leaves them open, and the run goes on.
    let _ = crate::process::close_descriptors_from(3);

    // From here on the panic hook and the allocator report into the region.
    region.install();
    let limit = address_space + (req.limits.native_stack_kib << 10) + req.limits.memory_bytes();
    setrlimit(Resource::RLIMIT_AS, limit, limit)?;
    if req.backtrace {
        BACKTRACE.store(true, Relaxed);
    }
    Ok(())
}

/// Makes a forked child a process of its own: the default signal mask, its
/// own process group, the guests' user (not root: it
/// can neither signal nor trace faultbox's processes), death with the fork
/// server, stdin from `/dev/null` and stdout and stderr to the fork
/// server's pipes. Only system calls: an exec'd guest's child runs it too,
/// between fork and exec.
pub fn isolate(isolation: Isolation) -> anyhow::Result<()> {
    let Isolation { parent, stdout, stderr, dev_null, confine } = isolation;
    // The fork server blocks termination signals to read them from a
    // signalfd; the guest gets the ordinary defaults back.
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    // Its own process group, so that its descendants can be killed as one;
    // and it dies with the fork server.
    nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
    confine.identity.assume().map_err(|e| anyhow::anyhow!("cannot give up root: {e}"))?;
    if let Some(filter) = confine.filter {
        filter.install().map_err(|e| anyhow::anyhow!("cannot install the signal filter: {e}"))?;
    }
    // After the credentials changed: a change clears the death signal.
    crate::process::die_with_parent(libc::SIGKILL)?;
    // The parent may have died before that took effect.
    anyhow::ensure!(nix::unistd::getppid() == parent, "the fork server is gone");
    for (from, to) in [(dev_null, 0), (stdout.as_raw_fd(), 1), (stderr.as_raw_fd(), 2)] {
        // SAFETY: dup2 between descriptors this process owns.
        anyhow::ensure!(unsafe { libc::dup2(from, to) } == to, "dup2: {}", std::io::Error::last_os_error());
    }
    drop((stdout, stderr));
    Ok(())
}

/// Let Rust's default panic hook run in this child (`NativeRequest::backtrace`).
static BACKTRACE: AtomicBool = AtomicBool::new(false);

/// Makes this process ready to fork scenario children: everything a child
/// would otherwise set up itself, done once. A child inherits it all, and
/// writes nothing of it: each page a child writes costs it a copy.
pub fn prepare_process() -> anyhow::Result<()> {
    // Core files of deliberate crashes would litter the working directory.
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    // One malloc arena: a second thread's arena would reserve 64 MiB of
    // address space and eat the memory limit before the guest allocates.
    crate::process::single_malloc_arena();
    // Rust's default hook prints a *full* backtrace for a second panic
    // (a panic in an `extern "C"` function, a panic while panicking)
    // whatever RUST_BACKTRACE says, and symbolizing it from this binary's
    // debug info costs ~150 ms of CPU and ~130 MiB: the guest's abort path
    // would be charged for faultbox's own debug info. The hook writes the
    // runtime's usual line itself; the full default hook only when asked.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let Some(region) = Region::current() else {
            // Not a scenario child: the fork server's own panic, in full.
            return previous(info);
        };
        region.record_panic(&info.to_string());
        if BACKTRACE.load(Relaxed) {
            previous(info);
        } else {
            let thread = std::thread::current();
            let line = format!("thread '{}' {info}\n", thread.name().unwrap_or("<unnamed>"));
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }));
    host::install(Hooks { progress: on_progress, host_call: on_host_call, write: on_write });
    Ok(())
}

fn on_progress(value: i64) {
    if let Some(region) = Region::current() {
        region.record_progress(value);
    }
}

/// The native twin of the wasm import: a failing host call unwinds through
/// the guest's frames to its caller, as a wasm host error does.
fn on_host_call(op: HostOp) -> i64 {
    let region = Region::current();
    if let Some(r) = region {
        r.set_host_call(Some(op as i32));
    }
    match crate::host_ops::perform(op) {
        Ok(v) => {
            if let Some(r) = region {
                r.set_host_call(None);
            }
            v
        }
        Err(e) => panic!("host call failed: {e}"),
    }
}

fn on_write(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: writing a borrowed buffer to fd 1.
        let n = unsafe { libc::write(std::io::stdout().as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        rest = &rest[n as usize..];
    }
}
