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
