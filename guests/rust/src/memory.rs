//! Memory faults: null, wild and out-of-bounds accesses, and misuse of the
//! guest's allocator. Addresses pass through `black_box` so the compiler
//! cannot see (and rewrite) the fault.

use core::hint::black_box;

pub fn null_write(_: i64) -> i64 {
    let p = black_box(0usize) as *mut u32;
    unsafe {
        p.write_volatile(0xDEAD_BEEF);
        p.read_volatile() as i64
    }
}

pub fn null_read(_: i64) -> i64 {
    let p = black_box(0usize) as *const u32;
    unsafe { p.read_volatile() as i64 }
}

/// 0xDEAD_BEE0 is a valid 32-bit wasm address and a plausible 64-bit one:
/// far above any wasm memory, and unmapped in a native process.
pub fn wild_write(_: i64) -> i64 {
    let p = black_box(0xDEAD_BEE0usize) as *mut u32;
    unsafe {
        p.write_volatile(0x0BAD_F00D);
        p.read_volatile() as i64
    }
}

pub fn checked_oob_index(_: i64) -> i64 {
    let v = black_box(vec![1i64, 2, 3]);
    v[black_box(7)]
}

#[repr(C)]
struct Adjacent {
    buffer: [u8; 16],
    neighbour: [u8; 16],
}

/// Writes 4 bytes past the end of `buffer`: into `neighbour`, inside the same
/// allocation, so no guard and no allocator check can notice. Returns what
/// the neighbour now holds (0xEE: silently overwritten).
pub fn unchecked_oob_access(_: i64) -> i64 {
    let mut a = black_box(Box::new(Adjacent { buffer: [0; 16], neighbour: [7; 16] }));
    let i = black_box(20usize);
    unsafe {
        a.buffer.as_mut_ptr().add(i).write_volatile(0xEE);
        (&a.neighbour[4] as *const u8).read_volatile() as i64
    }
}

/// Frees a block, lets the allocator hand it to a new owner, then writes
/// through the dangling pointer. Returns what the new owner sees.
pub fn use_after_free(_: i64) -> i64 {
    let dangling = Box::into_raw(Box::new([0x11u64; 8]));
    unsafe { drop(Box::from_raw(dangling)) };
    let new_owner = black_box(Box::new([0x5EC2_E7u64; 8]));
    unsafe { (dangling as *mut u64).add(4).write_volatile(0xBAD) };
    unsafe { (&new_owner[4] as *const u64).read_volatile() as i64 }
}

/// Frees the same block twice, then allocates twice: after a double free
/// an allocator without checks may hand out the same block to both.
pub fn double_free(_: i64) -> i64 {
    let p = Box::into_raw(Box::new([7u64; 4]));
    unsafe {
        drop(Box::from_raw(black_box(p)));
        drop(Box::from_raw(black_box(p)));
    }
    let a = black_box(Box::new([1u64; 4]));
    let b = black_box(Box::new([2u64; 4]));
    let aliased = core::ptr::eq(&*a, &*b);
    if aliased {
        // Both owners will free it again: leak them rather than make the
        // scenario fault twice.
        core::mem::forget(a);
        core::mem::forget(b);
    }
    aliased as i64
}

/// A file mapping whose file shrinks under it: `memfd_create` (an anonymous
/// file in memory, so no writable filesystem is needed), `ftruncate` to two
/// pages, `mmap` `MAP_SHARED` read/write, `ftruncate` to 0, progress 1, then a
/// store to the first page. The page lies wholly beyond the file's end, so
/// the fault has no page to map: the kernel sends SIGBUS (`BUS_ADRERR`). No
/// handler of its own; std's SIGBUS handler, inherited by the forked child,
/// finds the address outside the guard page, restores the default action
/// and returns, so the store faults again and SIGBUS kills the process.
/// Native only (WASI preview 1 has no mmap): absent from the wasm module.
/// Returns what the page holds if the store survives; -1..-3 when the setup
/// fails.
#[cfg(not(target_arch = "wasm32"))]
pub fn sigbus_truncated_mapping(_: i64) -> i64 {
    use std::ffi::{c_char, c_int, c_long, c_uint, c_void};
    // The crate has no dependencies: the libc functions std already links,
    // declared here. Values are Linux's (x86_64 and aarch64 alike).
    unsafe extern "C" {
        fn memfd_create(name: *const c_char, flags: c_uint) -> c_int;
        fn ftruncate(fd: c_int, length: i64) -> c_int;
        fn mmap(addr: *mut c_void, len: usize, prot: c_int, flags: c_int, fd: c_int, offset: i64) -> *mut c_void;
        fn munmap(addr: *mut c_void, len: usize) -> c_int;
        fn close(fd: c_int) -> c_int;
        fn sysconf(name: c_int) -> c_long;
    }
    const MFD_CLOEXEC: c_uint = 1;
    const PROT_READ: c_int = 1;
    const PROT_WRITE: c_int = 2;
    const MAP_SHARED: c_int = 1;
    const SC_PAGESIZE: c_int = 30;
    const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

    unsafe {
        let page = match sysconf(SC_PAGESIZE) {
            p if p > 0 => p as usize,
            _ => 4096,
        };
        let fd = memfd_create(c"faultbox-sigbus".as_ptr(), MFD_CLOEXEC);
        if fd < 0 {
            return -1;
        }
        if ftruncate(fd, 2 * page as i64) != 0 {
            close(fd);
            return -2;
        }
        let map = mmap(core::ptr::null_mut(), 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if map == MAP_FAILED {
            close(fd);
            return -3;
        }
        if ftruncate(fd, 0) != 0 {
            munmap(map, 2 * page);
            close(fd);
            return -2;
        }
        crate::host::progress(1);
        let p = black_box(map as *mut u32);
        p.write_volatile(0x5B05); // SIGBUS here
        let seen = p.read_volatile() as i64;
        munmap(map, 2 * page);
        close(fd);
        seen
    }
}
