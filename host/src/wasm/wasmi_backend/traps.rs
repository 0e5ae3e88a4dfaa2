//! From wasmi's errors to faultbox's observations: one table for wasmi's
//! trap codes, and how every other error that ends a call reads.

use super::imports::{BackstopPassed, FbHostError, HostPanicked};
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
    if err.downcast_ref::<BackstopPassed>().is_some() {
        return out_of_fuel();
    }
    match err.as_trap_code() {
        Some(code) => match trap_code(code) {
            Some(trap) => WasmEnding::Trapped { trap, message: err.to_string(), frames: Vec::new() },
            None => WasmEnding::Failed { message: format!("unrecognised trap: {err}") },
        },
        None => WasmEnding::Failed { message: err.to_string() },
    }
}

/// The deadline an error stands for: a wait that reached the wall-clock
/// backstop is the backstop's.
pub fn deadline_of(err: &wasmi::Error) -> Option<Deadline> {
    err.downcast_ref::<BackstopPassed>().map(|_| Deadline::Wall)
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
        let stalled = wasmi::Error::host(BackstopPassed);
        assert_eq!((ending(&stalled), deadline_of(&stalled)), (out_of_fuel(), Some(Deadline::Wall)));
        assert_eq!(deadline_of(&trap), None);
    }
}
