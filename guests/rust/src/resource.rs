//! Resource exhaustion: time, memory, output and processes.

use crate::host;
use core::hint::black_box;

const MIB: usize = 1 << 20;

/// Never returns; reports its iteration count every 2^20 iterations.
pub fn runaway_loop(_: i64) -> i64 {
    let mut i: i64 = 0;
    loop {
        i = i.wrapping_add(1);
        if i & 0xF_FFFF == 0 {
            host::progress(i);
        }
    }
}

/// Allocates and touches `chunk` bytes at a time (default 1 MiB) and never
/// frees them; reports the MiB held.
pub fn memory_bomb(chunk: i64) -> i64 {
    let chunk = if chunk > 0 { chunk as usize } else { MIB };
    let mut held = 0usize;
    loop {
        let block = vec![0xA5u8; chunk];
        black_box(&block);
        core::mem::forget(block);
        held += chunk;
        host::progress((held / MIB) as i64);
    }
}

/// One allocation of `bytes` (default 1.5 GiB, below wasm32's isize::MAX).
pub fn huge_allocation(bytes: i64) -> i64 {
    let bytes = if bytes > 0 { bytes as usize } else { 3 * 512 * MIB };
    let v: Vec<u8> = Vec::with_capacity(bytes);
    black_box(&v);
    v.capacity() as i64
}

/// Asks for `bytes` of fresh memory in the rawest way the platform offers
/// (wasm `memory.grow`, native `alloc`) and handles a refusal itself.
/// Returns -1 when refused.
pub fn memory_grow_refused(bytes: i64) -> i64 {
    let bytes = if bytes > 0 { bytes as usize } else { 1024 * MIB };
    #[cfg(target_arch = "wasm32")]
    {
        let previous = core::arch::wasm32::memory_grow(0, bytes / 65536);
        if previous == usize::MAX { -1 } else { previous as i64 }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let layout = std::alloc::Layout::from_size_align(bytes, 16).expect("layout");
        // black_box: an unused allocation may be optimised away (and
        // assumed to succeed).
        let p = black_box(unsafe { std::alloc::alloc(layout) });
        if p.is_null() {
            -1
        } else {
            unsafe { std::alloc::dealloc(p, layout) };
            0
        }
    }
}

/// Writes `bytes` (default 1 GiB) of output, 64 KiB at a time. Counts in
/// u64: on wasm32 a usize would wrap past 4 GiB.
pub fn output_flood(bytes: i64) -> i64 {
    const MIB64: u64 = 1 << 20;
    let total = if bytes > 0 { bytes as u64 } else { 1024 * MIB64 };
    let chunk = [b'x'; 64 * 1024];
    let mut written = 0u64;
    while written < total {
        host::write(&chunk);
        written += chunk.len() as u64;
        if written % (64 * MIB64) == 0 {
            host::progress((written / MIB64) as i64);
        }
    }
    written as i64
}

/// Leaves processes behind: a sleeping child in the guest's process group
/// and a grandchild that escapes it with `setsid`. In wasm there are no
/// processes to spawn: both attempts fail and the scenario returns -1.
pub fn stray_processes(seconds: i64) -> i64 {
    let seconds = if seconds > 0 { seconds } else { 30 };
    let direct = std::process::Command::new("sleep").arg(seconds.to_string()).spawn();
    let escaped = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("setsid sleep {seconds} >/dev/null 2>&1 &"))
        .status();
    match (direct, escaped) {
        (Ok(child), Ok(_)) => {
            let pid = child.id() as i64;
            core::mem::forget(child);
            pid
        }
        _ => -1,
    }
}

/// Starts a process that loops forever and waits for it: the guest's own
/// process sits idle while its descendant runs away. In wasm there are no
/// processes to spawn: the attempt fails and the scenario returns -1.
pub fn busy_descendant(_: i64) -> i64 {
    match std::process::Command::new("sh").arg("-c").arg("while :; do :; done").status() {
        Ok(status) => status.code().unwrap_or(-1) as i64,
        Err(_) => -1,
    }
}
