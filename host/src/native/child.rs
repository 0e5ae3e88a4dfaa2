//! What runs inside the forked child: the scenario, wrapped in
//! `catch_unwind` (Rust's `recover`), on a thread with the configured stack,
//! under the configured memory limit. Everything the child learns goes into
//! the report region; the child never talks to the supervisor.

use super::region::Region;
use crate::worker::protocol::NativeRequest;
use faultbox_guests::host::{self, HostOp, Hooks};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Exit codes for a child that could not even start the scenario.
pub const EXIT_SETUP_FAILED: i32 = 120;

/// Becomes the scenario process. Never returns. `parent` is the fork
/// server (the child must not outlive it).
pub fn run(req: &NativeRequest, region: &'static Region, parent: nix::unistd::Pid, stdout: OwnedFd, stderr: OwnedFd) -> ! {
    if let Err(e) = setup(req, region, parent, stdout, stderr) {
        let _ = writeln!(std::io::stderr(), "faultbox: native child setup failed: {e}");
        exit(EXIT_SETUP_FAILED);
    }
    let Some(entry) = faultbox_guests::entry(&req.entry) else {
        let _ = writeln!(std::io::stderr(), "faultbox: no guest function `{}`", req.entry);
        exit(EXIT_SETUP_FAILED);
    };
    let arg = req.arg;
    region.mark_ready();
    let scenario = std::thread::Builder::new()
        .name("fb-scenario".into())
        .stack_size(req.limits.native_stack_kib as usize * 1024)
        .spawn(move || {
            region.mark_started();
            match catch_unwind(AssertUnwindSafe(|| (entry.run)(arg))) {
                Ok(value) => region.mark_completed(value),
                Err(_) => region.mark_recovered(),
            }
            // Is this process still sound after what just happened?
            region.mark_health_started();
            let health = catch_unwind(faultbox_guests::health).unwrap_or(i64::MIN);
            region.record_health(health);
        });
    match scenario {
        Ok(handle) => {
            let _ = handle.join();
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "faultbox: cannot start the scenario thread: {e}");
            exit(EXIT_SETUP_FAILED);
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

fn setup(req: &NativeRequest, region: &'static Region, parent: nix::unistd::Pid, stdout: OwnedFd, stderr: OwnedFd) -> anyhow::Result<()> {
    // The fork server blocks termination signals to read them from a
    // signalfd; the guest gets the ordinary defaults back.
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    // Its own process group, so that its descendants can be killed as one;
    // and it dies with the fork server.
    nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    // The parent may have died before the prctl took effect.
    anyhow::ensure!(nix::unistd::getppid() == parent, "the fork server is gone");
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&stdout)?;
    nix::unistd::dup2_stderr(&stderr)?;
    drop((null, stdout, stderr));
    // Nothing of the fork server's (its request pipe, its signalfd) is the
    // guest's business, nor its strays'.
    // SAFETY: close_range on descriptors this process no longer uses.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };

    region.install();
    // Core files of deliberate crashes would litter the working directory.
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    // One malloc arena: a second thread's arena would reserve 64 MiB of
    // address space and eat the memory limit before the guest allocates.
    // SAFETY: mallopt with integer arguments.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    let limit = address_space_bytes()? + (req.limits.native_stack_kib << 10) + req.limits.memory_bytes();
    setrlimit(Resource::RLIMIT_AS, limit, limit)?;

    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(region) = Region::current() {
            region.record_panic(&info.to_string());
        }
        previous(info);
    }));
    host::install(Hooks { progress: on_progress, host_call: on_host_call, write: on_write });
    Ok(())
}

/// The child's current address-space size (first field of /proc/self/statm).
fn address_space_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().next().unwrap_or("0").parse()?;
    // SAFETY: sysconf with a constant name.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    Ok(pages * page)
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
