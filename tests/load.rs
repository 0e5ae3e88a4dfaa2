//! A verdict depends on what the guest did, not on how busy the machine
//! is: the whole catalog, run beside CPU hogs that this test starts and
//! stops itself, still matches every manifest.
//!
//! It runs after every other trial, alone (`tests/main.rs`), so that the
//! hogs load only this test.

use crate::common::FAULTBOX;
use std::process::{Child, Command, Stdio};

/// Busy loops that end with the guard, whatever happens to the test.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start(n: usize) -> Hogs {
        Hogs(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(Stdio::null())
                        .spawn()
                        .expect("start a busy loop")
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for hog in &mut self.0 {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}

fn the_catalog_matches_its_manifests_beside_cpu_hogs() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Two busy loops per core, and more jobs than cores: every guest,
    // worker and fork server competes for CPU with the hogs and with each
    // other. Two repeats, so a verdict that flips under load is caught
    // as flaky as well as wrong.
    let hogs = Hogs::start(2 * cores);
    let out = Command::new(FAULTBOX)
        .args(["compare", "--check", "--repeat", "2", "--jobs", &(2 * cores + 1).to_string()])
        .output()
        .unwrap();
    drop(hogs);
    assert!(
        out.status.success(),
        "compare --check beside {} busy loops exited {:?}\n{}\n{}",
        2 * cores,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

crate::trials!(the_catalog_matches_its_manifests_beside_cpu_hogs);
