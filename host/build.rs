//! Compiles the guest crate to `wasm32-unknown-unknown` into OUT_DIR, where
//! the host embeds it. The guest crate has no dependencies, so one `rustc`
//! call builds it; a nested `cargo build` would fight the outer one for locks.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let guest_src = manifest_dir.join("../guests/rust/src");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", guest_src.display());
    println!("cargo:rerun-if-env-changed=RUSTUP_TOOLCHAIN");

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    ensure_target(&rustc);

    let output = out_dir.join("guests.wasm");
    let status = Command::new(&rustc)
        .args(["--edition", "2024", "--crate-name", "faultbox_guests", "--crate-type", "cdylib"])
        .args(["--target", TARGET])
        // Release settings; panics abort (wasm32-unknown-unknown cannot unwind).
        .args(["-C", "opt-level=3", "-C", "panic=abort", "-C", "strip=debuginfo"])
        // The worker reads the shadow stack pointer before and after a fault
        // to tell whether the instance is still sound.
        .args(["-C", "link-arg=--export=__stack_pointer"])
        .arg(guest_src.join("lib.rs"))
        .arg("-o")
        .arg(&output)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .unwrap_or_else(|e| panic!("faultbox: cannot run {rustc} to build the wasm guest: {e}"));
    if !status.success() {
        panic!("faultbox: building the wasm guest ({}) failed: {status}", guest_src.display());
    }
}

/// Installs the wasm target into the active toolchain when its sysroot lacks
/// it, so a fresh machine with only the host target can build.
fn ensure_target(rustc: &str) {
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| panic!("faultbox: `{rustc} --print sysroot` failed"));
    if has_target(&sysroot) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup.status();
    match status {
        Ok(s) if s.success() && has_target(&sysroot) => {}
        Ok(s) => panic!(
            "faultbox: the {TARGET} target is missing from {} and `rustup target add {TARGET}` \
             failed ({s}); install it by hand and build again",
            sysroot.display()
        ),
        Err(e) => panic!(
            "faultbox: the {TARGET} target is missing from {} and rustup could not be run ({e}); \
             install the target for this toolchain and build again",
            sysroot.display()
        ),
    }
}

fn has_target(sysroot: &Path) -> bool {
    sysroot.join("lib/rustlib").join(TARGET).join("lib").is_dir()
}
