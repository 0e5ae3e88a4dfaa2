//! What one spec script's store may take: as much memory as one scenario
//! may (`Limits::default().memory_mib`), for each memory and for all the
//! memories of the script together, and as many table elements as one
//! scenario's table. A script's store holds every module it instantiates
//! until it ends, so a cap per memory alone would let a script of many
//! modules take the machine; a script that asks for more sees the growth
//! refused, and the directive that asked fails, naming the cap.
//!
//! Each engine's limiter answers with [`StoreCap`]: wasmtime's and wasmi's
//! `ResourceLimiter`s are implemented beside their runners.

use crate::limits::Limits;

/// All the table elements of a script's store together: what one
/// scenario's table may hold (the scenario limiters' `TABLE_ELEMENTS`).
pub const TABLE_ELEMENTS: usize = 1 << 20;

/// The bytes all the memories of a script's store may take together, and
/// so each one: a scenario's memory limit.
pub fn memory_bytes() -> usize {
    usize::try_from(Limits::default().memory_bytes()).unwrap_or(usize::MAX)
}

/// A script store's running totals, and the first growth it refused that
/// the script's own types allowed, until a directive takes it.
#[derive(Debug)]
pub struct StoreCap {
    memory_cap: usize,
    memory_total: usize,
    table_total: usize,
    refused: Option<String>,
}

impl Default for StoreCap {
    fn default() -> Self {
        StoreCap::new(memory_bytes())
    }
}

impl StoreCap {
    pub fn new(memory_cap: usize) -> StoreCap {
        StoreCap { memory_cap, memory_total: 0, table_total: 0, refused: None }
    }

    /// Whether a memory (a linear memory, or wasmtime's GC heap) may grow
    /// from `current` to `desired` bytes; `maximum` is what its type
    /// allows, `None` when that is beyond counting. Growth past the type's
    /// maximum is the engine's to refuse, as the spec says, and is not
    /// counted here.
    pub fn memory(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        if maximum.is_some_and(|max| desired > max) {
            return false;
        }
        let total = self.memory_total.saturating_sub(current).saturating_add(desired);
        if total <= self.memory_cap {
            self.memory_total = total;
            return true;
        }
        self.note(format!(
            "growth of a memory from {} to {} refused: a spec script's memories may take {} in all (faultbox's cap, a scenario's memory limit), and its store holds {}",
            human_bytes(current),
            human_bytes(desired),
            human_bytes(self.memory_cap),
            human_bytes(self.memory_total),
        ));
        false
    }

    /// The same for a table, in elements.
    pub fn table(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        if maximum.is_some_and(|max| desired > max) {
            return false;
        }
        let total = self.table_total.saturating_sub(current).saturating_add(desired);
        if total <= TABLE_ELEMENTS {
            self.table_total = total;
            return true;
        }
        self.note(format!(
            "growth of a table from {current} to {desired} elements refused: a spec script's tables may hold {TABLE_ELEMENTS} elements in all (faultbox's cap, a scenario's table limit), and its store holds {}",
            self.table_total
        ));
        false
    }

    fn note(&mut self, why: String) {
        self.refused.get_or_insert(why);
    }

    /// The first growth refused since the last call, if any: the directive
    /// that asked for it fails with this.
    pub fn take_refusal(&mut self) -> Option<String> {
        self.refused.take()
    }
}

fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n => format!("{} KiB", n >> 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each request against a store already holding some memory: allowed
    /// or refused, and whether the refusal is the cap's (named) or the
    /// type's (the spec's -1, not named).
    #[test]
    fn the_cap_counts_every_memory_of_the_store() {
        const MIB: usize = 1 << 20;
        // (already held, current, desired, maximum) → (allowed, named)
        let cases = [
            (0, 0, 256 * MIB, None, true, false),
            (0, 0, 256 * MIB + 1, None, false, true),
            (200 * MIB, 0, 56 * MIB, None, true, false),
            (200 * MIB, 0, 57 * MIB, Some(4 << 30), false, true),
            // Growing one that is counted already: only the difference.
            (100 * MIB, 100 * MIB, 256 * MIB, None, true, false),
            // Past the type's own maximum: the engine's -1, not the cap's.
            (0, 0, 16 << 30, Some(4 << 30), false, false),
            (0, 64 * 1024, 128 * 1024, Some(64 * 1024), false, false),
        ];
        for (held, current, desired, maximum, allowed, named) in cases {
            let mut cap = StoreCap::default();
            assert!(cap.memory(0, held, None));
            assert_eq!(cap.memory(current.min(held), desired, maximum), allowed, "{held} {current} {desired} {maximum:?}");
            let refusal = cap.take_refusal();
            assert_eq!(refusal.is_some(), named, "{held} {current} {desired}: {refusal:?}");
            if let Some(why) = refusal {
                assert!(why.contains("256 MiB in all"), "{why}");
            }
            assert_eq!(cap.take_refusal(), None, "taken once");
        }
    }

    #[test]
    fn tables_share_one_count() {
        let mut cap = StoreCap::default();
        assert!(cap.table(0, TABLE_ELEMENTS / 2, None));
        assert!(cap.table(0, TABLE_ELEMENTS / 2, Some(u32::MAX as usize)));
        assert!(!cap.table(0, 1, None));
        assert!(cap.take_refusal().is_some_and(|w| w.contains("1048576 elements in all")));
        assert!(!cap.table(0, 20, Some(10)));
        assert_eq!(cap.take_refusal(), None);
    }
}
