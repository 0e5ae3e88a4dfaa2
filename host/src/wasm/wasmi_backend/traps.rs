//! From wasmi's errors to faultbox's observations: one table for wasmi's
//! trap codes, and how every other error that ends a call reads.

use super::imports::{BudgetSpent, FbHostError, HostPanicked};
use crate::limits::Deadline;
use crate::outcome::TrapCode;
use crate::protocol::WasmEnding;
use wasmi::TrapCode as Wasmi;

/// Every wasmi trap code (wasmi_core 2.0's `trap.rs`) and faultbox's name
/// for it. The test below walks wasmi's whole code space, so a code wasmi
/// adds cannot go unmapped.
const TABLE: &[(Wasmi, TrapCode)] = &[
    (Wasmi::UnreachableCodeReached, TrapCode::UnreachableCodeReached),
    (Wasmi::MemoryOutOfBounds, TrapCode::MemoryOutOfBounds),
    (Wasmi::TableOutOfBounds, TrapCode::TableOutOfBounds),
    (Wasmi::IndirectCallToNull, TrapCode::IndirectCallToNull),
    (Wasmi::IntegerDivisionByZero, TrapCode::IntegerDivisionByZero),
    (Wasmi::IntegerOverflow, TrapCode::IntegerOverflow),
    (Wasmi::BadConversionToInteger, TrapCode::BadConversionToInteger),
    (Wasmi::StackOverflow, TrapCode::StackOverflow),
    (Wasmi::BadSignature, TrapCode::BadSignature),
    (Wasmi::OutOfFuel, TrapCode::OutOfFuel),
    // A `ResourceLimiter` that answered `Err` to a growth request
    // (faultbox's answers `Ok(false)`: memory.grow returns -1), so no
    // scenario raises it; named for what it is all the same.
    (Wasmi::GrowthOperationLimited, TrapCode::GrowthLimited),
    // The host's allocator refused wasmi memory it needed (its value stack,
    // a memory or table buffer).
    (Wasmi::OutOfSystemMemory, TrapCode::OutOfSystemMemory),
];

/// faultbox's name for a wasmi trap code (`None` only for a code missing
/// from the table, which the test below forbids).
pub fn trap_code(code: Wasmi) -> Option<TrapCode> {
    TABLE.iter().find(|(w, _)| *w == code).map(|(_, ours)| *ours)
}

/// faultbox's trap code for any wasmi error that is a trap. One trap wasmi
/// reports as an instantiation error rather than a trap code: an active
/// element segment that does not fit its table, which the spec defines as
/// `table.init`'s out-of-bounds trap (wasmi's message says as much: "out
/// of bounds table access"; `module/instantiate/mod.rs`).
pub fn trap_of(err: &wasmi::Error) -> Option<TrapCode> {
    if let wasmi::errors::ErrorKind::Instantiation(wasmi::errors::InstantiationError::ElementSegmentDoesNotFit { .. }) = err.kind() {
        return Some(TrapCode::TableOutOfBounds);
    }
    trap_code(err.as_trap_code()?)
}

/// How a call that returned `err` ended. The message is wasmi's own text;
/// wasmi keeps no wasm backtrace, so `frames` is empty.
pub fn ending(err: &wasmi::Error) -> WasmEnding {
    if let Some(code) = err.i32_exit_status() {
        return WasmEnding::Exited { code };
    }
    if let Some(e) = err.downcast_ref::<FbHostError>() {
        return WasmEnding::HostError { message: e.0.to_string() };
    }
    if let Some(p) = err.downcast_ref::<HostPanicked>() {
        return WasmEnding::HostPanic { message: p.0.clone() };
    }
    if let Some(spent) = err.downcast_ref::<BudgetSpent>() {
        // The same code as a spent budget between instructions (the
        // backend's way to stop a call is to give it no more fuel), with
        // what really happened as its message.
        return WasmEnding::Trapped { trap: TrapCode::OutOfFuel, message: spent.to_string(), frames: Vec::new() };
    }
    match trap_of(err) {
        Some(trap) => WasmEnding::Trapped { trap, message: err.to_string(), frames: Vec::new() },
        None => WasmEnding::Failed { message: err.to_string() },
    }
}

/// The deadline an error stands for: a budget spent inside a host call.
pub fn deadline_of(err: &wasmi::Error) -> Option<Deadline> {
    err.downcast_ref::<BudgetSpent>().map(|s| s.deadline)
}

/// The trap ending a spent budget gives a call: wasmi's `OutOfFuel`, in
/// its own words.
pub fn out_of_fuel() -> WasmEnding {
    WasmEnding::Trapped { trap: TrapCode::OutOfFuel, message: Wasmi::OutOfFuel.to_string(), frames: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code wasmi can raise is in the table, once.
    #[test]
    fn every_wasmi_trap_code_is_mapped() {
        let mut seen = Vec::new();
        for byte in 0..=u8::MAX {
            if let Ok(code) = Wasmi::try_from(byte) {
                let rows = TABLE.iter().filter(|(w, _)| *w == code).count();
                assert_eq!(rows, 1, "{code:?} has {rows} rows in the table");
                seen.push(code);
            }
        }
        assert_eq!(seen.len(), TABLE.len(), "the table names codes wasmi does not have");
    }

    /// The codes both engines share keep wasmtime's meaning: the name is
    /// wasmi's variant name in snake_case, as wasmtime's trap table derives it.
    #[test]
    fn shared_codes_keep_their_names() {
        for (wasmi, ours) in TABLE {
            let debug = match wasmi {
                // faultbox's name for the same trap is shorter.
                Wasmi::GrowthOperationLimited => "GrowthLimited".to_string(),
                other => format!("{other:?}"),
            };
            let mut snake = String::new();
            for (i, c) in debug.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(TrapCode::from_name(&snake), Some(*ours), "{wasmi:?}");
        }
    }

    #[test]
    fn errors_read_as_their_endings() {
        let trap = wasmi::Error::from(Wasmi::IntegerDivisionByZero);
        assert_eq!(
            ending(&trap),
            WasmEnding::Trapped { trap: TrapCode::IntegerDivisionByZero, message: "integer divide by zero".into(), frames: vec![] }
        );
        assert_eq!(ending(&wasmi::Error::i32_exit(3)), WasmEnding::Exited { code: 3 });
        let refused = wasmi::Error::host(FbHostError(crate::host_ops::HostOpError("no".into())));
        assert_eq!(ending(&refused), WasmEnding::HostError { message: "no".into() });
        let panicked = wasmi::Error::host(HostPanicked("boom".into()));
        assert_eq!(ending(&panicked), WasmEnding::HostPanic { message: "boom".into() });
        assert_eq!(ending(&wasmi::Error::new("odd")), WasmEnding::Failed { message: "odd".into() });
        assert!(matches!(out_of_fuel(), WasmEnding::Trapped { trap: TrapCode::OutOfFuel, .. }));
        let stalled = wasmi::Error::host(BudgetSpent { deadline: Deadline::Wall, waiting: true });
        assert!(matches!(ending(&stalled), WasmEnding::Trapped { trap: TrapCode::OutOfFuel, ref message, .. } if message.contains("poll_oneoff")));
        assert_eq!(deadline_of(&stalled), Some(Deadline::Wall));
        assert_eq!(deadline_of(&trap), None);
    }
}
