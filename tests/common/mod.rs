//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// A module's tests, as trials of the one test binary (`tests/main.rs`):
/// `trials!(a, b, nested::c)` defines `trials()`, each named
/// `<module>::<function>` as libtest would name it.
#[macro_export]
macro_rules! trials {
    ($($($seg:ident)::+),* $(,)?) => {
        pub fn trials() -> Vec<libtest_mimic::Trial> {
            vec![$($crate::common::trial(module_path!(), stringify!($($seg)::+), $($seg)::+)),*]
        }
    };
}

/// One test function as a trial: a panic is its failure (libtest-mimic
/// catches it and reports its message).
pub fn trial(module: &str, name: &str, test: fn()) -> libtest_mimic::Trial {
    // `main::bad_input` → `bad_input`: the crate's own name says nothing.
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    libtest_mimic::Trial::test(format!("{module}::{}", name.replace(' ', "")), move || {
        test();
        Ok(())
    })
}

use std::path::PathBuf;

pub const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faultbox-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tag unique to this test process and call.
pub fn new_tag(what: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!("{what}-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Pids of live processes started with FAULTBOX_TEST_TAG=tag in their
/// environment: faultbox, its workers, their children, and strays, which
/// all inherit it.
pub fn tagged_processes(tag: &str) -> Vec<u32> {
    let needle = format!("FAULTBOX_TEST_TAG={tag}");
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        })
        .collect()
}

/// Waits until no tagged process is left, up to `secs`; returns those left.
pub fn wait_until_gone(tag: &str, secs: u64) -> Vec<u32> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = tagged_processes(tag);
        if left.is_empty() || std::time::Instant::now() > until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// (pid, parent pid, command line) of every tagged process.
pub fn tagged_tree(tag: &str) -> Vec<(u32, u32, String)> {
    tagged_processes(tag)
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the parenthesised command: state, ppid, ...
            let ppid = stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            Some((pid, ppid, cmdline.trim().to_string()))
        })
        .collect()
}

pub mod schema;
