//! Is the same instance still sound after a fault? A snapshot before the
//! call and a comparison after it, engine-neutral: each engine reads its
//! instance into a [`StateView`], and the diff is the same for all.

use super::backend::{STACK_POINTER, StateView};
use crate::protocol::ReuseFacts;

/// State of an instance just before the scenario call.
pub struct Snapshot {
    stack_pointer: Option<u32>,
    globals: Vec<(String, String)>,
    memory: Option<MemoryImage>,
}

/// Linear memory as it was, page by page: only the pages the instance had
/// touched (resident). A guest may declare gigabytes and touch a few
/// pages; copying all of it made the worker as large as the declaration.
/// A page that was never touched reads as zeros.
struct MemoryImage {
    len: usize,
    pages: std::collections::BTreeMap<usize, Box<[u8]>>,
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

/// Which pages of `data` are resident (touched, or backed by the module's
/// memory image). Where the kernel cannot say (a memory on the heap, as
/// wasmi's is, not page-aligned), a page counts as touched when it holds a
/// byte that is not zero: an all-zero page reads the same as an untouched
/// one, so the diff is the same, and a snapshot of a large, mostly empty
/// memory stays small.
fn resident_pages(data: &[u8], page: usize) -> Vec<bool> {
    let n = data.len().div_ceil(page);
    let mut v = vec![0u8; n];
    let aligned = data.as_ptr() as usize % page == 0;
    // SAFETY: `data` is mapped for its whole length and its start is
    // page-aligned (checked); mincore writes one byte per page into `v`.
    let ok = aligned && n > 0 && unsafe { libc::mincore(data.as_ptr() as *mut libc::c_void, data.len(), v.as_mut_ptr()) } == 0;
    if !ok {
        return data.chunks(page).map(|p| p.iter().any(|&b| b != 0)).collect();
    }
    v.into_iter().map(|b| b & 1 != 0).collect()
}

fn memory(data: &[u8]) -> MemoryImage {
    let page = page_size();
    let pages = resident_pages(data, page)
        .into_iter()
        .enumerate()
        .filter(|(_, resident)| *resident)
        .map(|(p, _)| (p, data[p * page..((p + 1) * page).min(data.len())].into()))
        .collect();
    MemoryImage { len: data.len(), pages }
}

pub fn snapshot(view: &StateView<'_>) -> Snapshot {
    Snapshot { stack_pointer: view.stack_pointer, globals: view.globals.clone(), memory: view.memory.map(memory) }
}

/// Compares the instance with `before`. Memory below the stack pointer at
/// entry is the dead part of the shadow stack, which no correct later call
/// reads: its changes are reported apart from the live state's.
pub fn compare(view: &StateView<'_>, before: &Snapshot) -> ReuseFacts {
    let sp_after = view.stack_pointer;
    let stack_pointer = before.stack_pointer.zip(sp_after);
    let globals_changed = before
        .globals
        .iter()
        .zip(view.globals.iter().cloned())
        .filter(|((name, _), _)| name != STACK_POINTER)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| format!("{name}: {a} -> {b}"))
        .collect();
    let mut live = Diff::default();
    let mut dead = Diff::default();
    let mut memory_size = None;
    if let (Some(old), Some(new)) = (&before.memory, view.memory) {
        memory_size = Some((old.len as u64, new.len() as u64));
        let live_from = (before.stack_pointer.unwrap_or(0) as usize).min(old.len).min(new.len());
        let page = page_size();
        let zeros = vec![0u8; page];
        let touched_after = resident_pages(new, page);
        // Page by page, only where something may differ: a page neither
        // touched before nor after is zeros on both sides.
        for (p, &after) in touched_after.iter().enumerate() {
            let at = p * page;
            let end = (at + page).min(new.len());
            let before_page: Option<&[u8]> = match old.pages.get(&p) {
                Some(b) => Some(b),
                None if after => Some(&zeros[..(end - at).min(old.len.saturating_sub(at))]),
                None => None,
            };
            let Some(before_page) = before_page else { continue };
            let now = &new[at..end];
            // The live/dead split at the stack pointer at entry.
            let cut = live_from.clamp(at, end) - at;
            let cut_old = cut.min(before_page.len());
            dead.add(&before_page[..cut_old], &now[..cut], at);
            live.add(&before_page[cut_old..], &now[cut..], at + cut);
        }
    }
    ReuseFacts {
        health: crate::protocol::HealthCheck::Missing,
        stack_pointer,
        globals_changed,
        memory_changed_bytes: live.changed,
        memory_changed_runs: live.runs,
        dead_stack_changed_bytes: dead.changed,
        dead_stack_changed_runs: dead.runs,
        memory_size,
        rounds_healthy: None,
        rounds_broke: None,
        rounds_stopped: None,
    }
}

/// Changed bytes between two memory images (`new` may be longer: grown
/// memory starts zeroed, so its non-zero bytes count as changed), and where:
/// runs of changes, merged across small gaps, addresses offset by `base`.
#[derive(Default)]
struct Diff {
    changed: u64,
    runs: Vec<(u32, u32)>,
}

/// Changes closer than this are one run.
const RUN_GAP: usize = 64;
/// Runs reported at most; further changes widen the last one.
const MAX_RUNS: usize = 6;

impl Diff {
    fn note(&mut self, lo: usize, hi: usize, n: u64) {
        self.changed += n;
        let full = self.runs.len() == MAX_RUNS;
        match self.runs.last_mut() {
            Some(last) if lo <= last.1 as usize + RUN_GAP || full => last.1 = last.1.max(hi as u32),
            _ => self.runs.push((lo as u32, hi as u32)),
        }
    }
}

impl Diff {
    fn add(&mut self, old: &[u8], new: &[u8], base: usize) {
        diff_into(self, old, new, base);
    }
}

#[cfg(test)]
fn diff_bytes(old: &[u8], new: &[u8], base: usize) -> Diff {
    let mut d = Diff::default();
    diff_into(&mut d, old, new, base);
    d
}

fn diff_into(d: &mut Diff, old: &[u8], new: &[u8], base: usize) {
    let common = old.len().min(new.len());
    let words = common / 8;
    // Word at a time: xor, then count the non-zero bytes of the xor.
    for i in 0..words {
        let a = u64::from_le_bytes(old[i * 8..i * 8 + 8].try_into().unwrap());
        let b = u64::from_le_bytes(new[i * 8..i * 8 + 8].try_into().unwrap());
        let x = a ^ b;
        if x != 0 {
            let at = base + i * 8;
            let lo = at + (x.trailing_zeros() / 8) as usize;
            let hi = at + 7 - (x.leading_zeros() / 8) as usize;
            d.note(lo, hi, nonzero_bytes(x));
        }
    }
    for i in words * 8..common {
        if old[i] != new[i] {
            d.note(base + i, base + i, 1);
        }
    }
    for (i, &b) in new.iter().enumerate().skip(common) {
        if b != 0 {
            d.note(base + i, base + i, 1);
        }
    }
}

/// How many of the 8 bytes of `x` are not zero.
fn nonzero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // High bit of each byte set iff that byte is non-zero.
    let y = ((x & LOW7).wrapping_add(LOW7) | x) & !LOW7;
    y.count_ones() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_counts_changed_bytes_and_their_range() {
        let old = vec![0u8; 40];
        let mut new = old.clone();
        new[3] = 1;
        new[17] = 9;
        new[18] = 9;
        new[39] = 2;
        let d = diff_bytes(&old, &new, 0);
        assert_eq!(d.changed, 4);
        assert_eq!(d.runs, vec![(3, 39)], "changes closer than RUN_GAP are one run");
        assert_eq!(diff_bytes(&old, &old, 0).changed, 0);
        let mut grown = old.clone();
        grown.extend([0, 0, 5, 0]);
        assert_eq!(diff_bytes(&old, &grown, 100).runs, vec![(142, 142)]);
        let mut far = vec![0u8; 4096];
        far[0] = 1;
        far[4000] = 1;
        assert_eq!(diff_bytes(&vec![0u8; 4096], &far, 0).runs, vec![(0, 0), (4000, 4000)]);
        assert_eq!(nonzero_bytes(0x0100_0000_0000_FF00), 2);
    }
}
