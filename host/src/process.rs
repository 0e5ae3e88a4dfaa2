//! Process plumbing shared by the supervisor and the workers: waiting for a
//! process to end without reaping it, and stopping it in order.

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
