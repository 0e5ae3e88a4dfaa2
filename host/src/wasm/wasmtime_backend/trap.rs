//! From wasmtime's errors to faultbox's observations.

use crate::outcome::TrapCode;
use crate::protocol::WasmEnding;
use wasmtime::{Trap, WasmBacktrace};

/// wasmtime's traps in faultbox's vocabulary: one row per `wasmtime::Trap`.
/// `None` for the traps a core module cannot raise in faultbox's engines:
/// the component model's (faultbox runs core modules only) and stack
/// switching's (never enabled, see `NOT_WASM3`).
pub fn trap_code(trap: Trap) -> Option<TrapCode> {
    use TrapCode as C;
    Some(match trap {
        Trap::StackOverflow => C::StackOverflow,
        Trap::MemoryOutOfBounds => C::MemoryOutOfBounds,
        Trap::HeapMisaligned => C::HeapMisaligned,
        Trap::TableOutOfBounds => C::TableOutOfBounds,
        Trap::IndirectCallToNull => C::IndirectCallToNull,
        Trap::BadSignature => C::BadSignature,
        Trap::IntegerOverflow => C::IntegerOverflow,
        Trap::IntegerDivisionByZero => C::IntegerDivisionByZero,
        Trap::BadConversionToInteger => C::BadConversionToInteger,
        Trap::UnreachableCodeReached => C::UnreachableCodeReached,
        Trap::Interrupt => C::Interrupt,
        Trap::OutOfFuel => C::OutOfFuel,
        Trap::AtomicWaitNonSharedMemory => C::AtomicWaitNonSharedMemory,
        Trap::NullReference => C::NullReference,
        Trap::ArrayOutOfBounds => C::ArrayOutOfBounds,
        Trap::AllocationTooLarge => C::AllocationTooLarge,
        Trap::CastFailure => C::CastFailure,
        Trap::DisabledOpcode => C::DisabledOpcode,
        Trap::UncaughtException => C::UncaughtException,
        _ => return None,
    })
}

/// The trap code behind `err`, if it is a trap faultbox knows. Two of
/// wasmtime's errors are not `Trap`s but end a call the same way, and have
/// codes of their own: an exception no handler caught (`ThrownException`,
/// the exception left pending in the store) and a GC allocation the GC
/// heap could not make room for (`GcHeapOutOfMemory`, after a collection
/// and a refused or impossible growth).
pub fn trap_of(err: &wasmtime::Error) -> Option<TrapCode> {
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return trap_code(*trap);
    }
    if err.is::<wasmtime::ThrownException>() {
        return Some(TrapCode::UncaughtException);
    }
    if err.is::<wasmtime::GcHeapOutOfMemory<()>>() {
        return Some(TrapCode::GcHeapOutOfMemory);
    }
    None
}

/// Function names of the wasm backtrace attached to `err`, innermost first.
pub fn frames(err: &wasmtime::Error) -> Vec<String> {
    let Some(bt) = err.downcast_ref::<WasmBacktrace>() else { return Vec::new() };
    bt.frames()
        .iter()
        .map(|f| match f.func_name() {
            Some(name) => short_name(name),
            None => format!("func[{}]", f.func_index()),
        })
        .collect()
}

/// A readable function name: Rust symbols demangled without their hash,
/// the guest crate's own prefix dropped (`stack::descend_small`).
fn short_name(name: &str) -> String {
    let name = format!("{:#}", rustc_demangle::demangle(name));
    name.strip_prefix("faultbox_guests::").map(str::to_string).unwrap_or(name)
}

/// How a failed call ended.
pub fn ending(err: &wasmtime::Error) -> WasmEnding {
    match err.downcast_ref::<Trap>() {
        Some(trap) => match trap_code(*trap) {
            Some(code) => WasmEnding::Trapped { trap: code, message: trap.to_string(), frames: frames(err) },
            None => WasmEnding::Failed { message: format!("unrecognised trap: {trap}") },
        },
        None if let Some(code) = trap_of(err) => {
            WasmEnding::Trapped { trap: code, message: err.root_cause().to_string(), frames: frames(err) }
        }
        None if let Some(code) = super::wasi::exit_code(err) => WasmEnding::Exited { code },
        None if err.is::<crate::host_ops::HostOpError>() => {
            WasmEnding::HostError { message: err.root_cause().to_string() }
        }
        None => WasmEnding::Failed { message: format!("{err:#}") },
    }
}

/// The wasm fault address wasmtime attaches to memory traps, if any.
pub fn fault_detail(err: &wasmtime::Error) -> Option<String> {
    // wasmtime attaches it as a context message; its type is not public.
    err.chain().map(|e| e.to_string()).find(|m| m.starts_with("memory fault at wasm address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every trap wasmtime can raise is in the table: with a faultbox
    /// code, or, by name, among those a core module cannot raise here.
    #[test]
    fn every_wasmtime_trap_is_in_the_table() {
        const NOT_IN_CORE: &[&str] = &[
            "CannotEnterComponent", "NoAsyncResult", "UnhandledTag", "ContinuationAlreadyConsumed", "AsyncDeadlock",
            "CannotLeaveComponent", "CannotBlockSyncTask", "InvalidChar", "DebugAssertStringEncodingFinished",
            "DebugAssertEqualCodeUnits", "DebugAssertPointerAligned", "DebugAssertUpperBitsUnset", "StringOutOfBounds",
            "ListOutOfBounds", "InvalidDiscriminant", "UnalignedPointer", "TaskCancelNotCancelled",
            "TaskCancelOrReturnTwice", "SubtaskCancelAfterTerminal", "TaskReturnInvalid", "WaitableSetDropHasWaiters",
            "SubtaskDropNotResolved", "ThreadNewIndirectInvalidType", "ThreadNewIndirectUninitialized",
            "BackpressureOverflow", "UnsupportedCallbackCode", "CannotResumeThread", "ConcurrentFutureStreamOp",
            "ReferenceCountOverflow", "StreamOpTooBig", "WaitableSyncAndAsync",
        ];
        let mut mapped = 0;
        for byte in 0..=u8::MAX {
            let Some(trap) = Trap::from_u8(byte) else { continue };
            match trap_code(trap) {
                Some(_) => mapped += 1,
                None => assert!(NOT_IN_CORE.contains(&format!("{trap:?}").as_str()), "{trap:?} is not in the table"),
            }
        }
        assert_eq!(mapped, 19, "a new wasmtime trap needs a row");
    }

    /// The codes that are not `Trap`s come from the errors they stand for
    /// (`GcHeapOutOfMemory` cannot be made outside wasmtime: the
    /// `gc_allocation_bomb` scenario observes it).
    #[test]
    fn errors_that_end_a_call_like_a_trap_have_codes() {
        let thrown = wasmtime::Error::from(wasmtime::ThrownException);
        assert_eq!(trap_of(&thrown), Some(TrapCode::UncaughtException));
        assert!(matches!(ending(&thrown), WasmEnding::Trapped { trap: TrapCode::UncaughtException, .. }));
        assert_eq!(trap_of(&wasmtime::Error::msg("something else")), None);
    }
}
