//! The fork+exec baseline: `faultbox worker native-once REQUEST` runs one
//! native scenario in a freshly exec'd process, exactly as a forked child
//! would, so `faultbox bench` can compare the fork server against it.

use super::child;
use super::region::Region;
use crate::worker::protocol::NativeRequest;
use std::os::fd::OwnedFd;

/// Becomes the scenario process. Never returns.
pub fn run(request_json: &str) -> ! {
    let req: NativeRequest = match serde_json::from_str(request_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faultbox: bad native-once request: {e}");
            std::process::exit(2)
        }
    };
    let region = Region::map().expect("map a report region");
    let null = |_| -> OwnedFd { std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null").into() };
    child::run(&req, region, nix::unistd::getppid(), null(1), null(2))
}

/// One fork+exec cycle: start `exe` as a fresh native worker for `req`,
/// wait for it (killing it at `deadline`), and say how it ended.
pub fn exec_cycle(exe: &std::path::Path, request_json: &str, deadline: std::time::Duration) -> std::io::Result<std::process::ExitStatus> {
    let mut child = std::process::Command::new(exe)
        .args(["worker", "native-once", request_json])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .env("RUST_BACKTRACE", "0")
        .spawn()?;
    let pidfd = crate::process::pidfd_open(child.id() as i32)?;
    if !crate::process::wait_exit(&pidfd, deadline) {
        let _ = child.kill();
    }
    child.wait()
}
