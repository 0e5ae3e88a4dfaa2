//! The fork+exec baseline: `faultbox worker native-once REQUEST` runs one
//! native scenario in a freshly exec'd process, exactly as a forked child
//! would, so `faultbox bench` can compare the fork server against it.

use super::child;
use super::region::Region;
use crate::protocol::NativeRequest;
use std::os::fd::{AsRawFd, OwnedFd};

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
    let region = Region::map().expect("map a report region");
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

/// One fork+exec cycle: start `exe` as a fresh native worker for `req`,
/// wait for it (killing it at `deadline`), and say how it ended.
pub fn exec_cycle(exe: &std::path::Path, request_json: &str, deadline: std::time::Duration) -> std::io::Result<std::process::ExitStatus> {
    // One of this process's own children: the stray reaper leaves it be.
    let mut own = crate::process::spawn_own(
        std::process::Command::new(exe)
            .args(["worker", "native-once", request_json])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .env("RUST_BACKTRACE", "0"),
    )?;
    let child = &mut own.0;
    let pidfd = crate::process::pidfd_open(child.id() as i32)?;
    if !crate::process::wait_exit(&pidfd, deadline) {
        let _ = child.kill();
    }
    child.wait()
}
