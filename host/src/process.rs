//! Process plumbing shared by the supervisor and the workers: waiting for a
//! process to end without reaping it, stopping it in order, and reading
//! CPU clocks.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// A pidfd for `pid`: it becomes readable when the process ends, whether
/// or not it has been reaped (Linux 5.3+).
pub fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the fd was just returned to us and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits up to `timeout` for the process behind `pidfd` to end. Does not
/// reap it: whoever owns the process still waits for it.
pub fn wait_exit(pidfd: &OwnedFd, timeout: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let until = Instant::now() + timeout;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Stops `pid` in order and returns once it has ended (it is not reaped):
/// nothing if it already ended, else SIGTERM, `grace` to act on it (the fork
/// server kills its child's group and strays), then SIGKILL.
pub fn terminate(pid: i32, grace: Duration) {
    use nix::sys::signal::{Signal, kill};
    let target = nix::unistd::Pid::from_raw(pid);
    let Ok(pidfd) = pidfd_open(pid) else {
        // Already reaped (or never ours): nothing to stop.
        return;
    };
    if wait_exit(&pidfd, Duration::ZERO) {
        return;
    }
    let _ = kill(target, Signal::SIGTERM);
    if !wait_exit(&pidfd, grace) {
        let _ = kill(target, Signal::SIGKILL);
        wait_exit(&pidfd, Duration::from_secs(10));
    }
}

/// The CPU time `clock` has counted (a thread's or a process's CPU clock);
/// zero when it cannot be read (the process is gone).
pub fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The CPU time of the calling thread.
pub fn thread_cpu_time() -> Duration {
    cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The CPU clock of process `pid` (all its threads), readable by its parent.
pub fn process_cpu_clock(pid: i32) -> std::io::Result<libc::clockid_t> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: writes the clock id into our local.
    let r = unsafe { libc::clock_getcpuclockid(pid, &mut clock) };
    if r != 0 {
        return Err(std::io::Error::from_raw_os_error(r));
    }
    Ok(clock)
}
