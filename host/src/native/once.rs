//! The fork+exec baseline: `faultbox worker native-once REQUEST` runs one
//! native scenario in a freshly exec'd process, exactly as a forked child
//! would, so `faultbox bench` can compare the fork server against it. It
//! reports into a region shared with the fork server through a memfd at
//! [`REGION_FD`], so that its cycle is classified from the same report as
//! a forked child's.

use super::child;
use super::region::Region;
use crate::protocol::{ChildReport, NativeRequest};
use std::os::fd::{AsRawFd, OwnedFd};

/// The descriptor at which a `native-once` process finds its report region.
pub const REGION_FD: i32 = 3;

/// Becomes the scenario process. Never returns.
pub fn run(request_json: &str) -> ! {
    let req: NativeRequest = match serde_json::from_str(request_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faultbox: bad native-once request: {e}");
            std::process::exit(2)
        }
    };
    if req.exec.is_some() || req.library.is_some() {
        eprintln!("faultbox: native-once runs linked entries only, not exec'd programs or libraries");
        std::process::exit(2)
    }
    // The region the fork server reads; a process started by hand,
    // without one at REGION_FD, reports into a region of its own.
    let region = Region::map_fd(REGION_FD).or_else(|_| Region::map()).expect("map a report region");
    if let Err(e) = child::prepare_process() {
        eprintln!("faultbox: native-once setup failed: {e}");
        std::process::exit(2)
    }
    let null = || -> OwnedFd { std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").expect("/dev/null").into() };
    let dev_null = null();
    let launch = child::Launch {
        region,
        isolation: child::Isolation {
            parent: nix::unistd::getppid(),
            stdout: null(),
            stderr: null(),
            dev_null: dev_null.as_raw_fd(),
            // As a forked child of the fork server is: its parent is one,
            // whose parent is the supervisor.
            confine: {
                let fork_server = nix::unistd::getppid();
                let supervisor = crate::process::stat_fields(fork_server.as_raw() as u32)
                    .and_then(|f| f.get(crate::process::STAT_PPID).copied())
                    .map_or(fork_server, |p| nix::unistd::Pid::from_raw(p as i32));
                child::Confine::protecting(fork_server, supervisor)
            },
        },
        address_space: crate::process::open_statm().and_then(|f| crate::process::address_space_bytes(&f)).expect("/proc/self/statm"),
        // A fresh process's main thread: the scenario gets a thread of its own.
        fork_thread_stack: None,
    };
    child::run(&req, launch)
}

/// The fork+exec baseline's cycles, run by the fork server: each starts a
/// fresh native worker and reads what it reported.
pub struct ExecCycles {
    region: &'static Region,
    /// The region's memfd, handed to each process at [`REGION_FD`].
    fd: OwnedFd,
}

impl ExecCycles {
    pub fn new() -> anyhow::Result<ExecCycles> {
        let (region, fd) = Region::map_memfd()?;
        Ok(ExecCycles { region, fd })
    }

    /// One fork+exec cycle: start `exe` as a fresh native worker for
    /// `req`, wait for it (killing it at `deadline`), and say how it ended
    /// and what it reported, as a forked child's run says it.
    pub fn run(&self, exe: &std::path::Path, request_json: &str, deadline: std::time::Duration) -> std::io::Result<(std::process::ExitStatus, ChildReport)> {
        use std::os::unix::process::CommandExt;
        self.region.reset();
        let fd = self.fd.as_raw_fd();
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["worker", "native-once", request_json])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .env("RUST_BACKTRACE", "0");
        // SAFETY: only async-signal-safe calls between fork and exec. dup2
        // onto another number leaves the copy open across the exec; onto
        // itself it would keep close-on-exec, which is cleared instead.
        unsafe {
            cmd.pre_exec(move || {
                let r = if fd == REGION_FD { libc::fcntl(fd, libc::F_SETFD, 0) } else { libc::dup2(fd, REGION_FD) };
                if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
            })
        };
        // One of this process's own children: the stray reaper leaves it be.
        let mut own = crate::process::spawn_own(&mut cmd)?;
        let child = &mut own.0;
        let pidfd = crate::process::pidfd_open(child.id() as i32)?;
        if !crate::process::wait_exit(&pidfd, deadline) {
            let _ = child.kill();
        }
        let status = child.wait()?;
        Ok((status, self.region.report(super::region::now_ns())))
    }
}
