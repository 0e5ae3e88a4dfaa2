//! From wasmtime's errors to faultbox's observations.

use crate::outcome::TrapCode;
use crate::worker::protocol::WasmEnding;
use wasmtime::{Trap, WasmBacktrace};

/// faultbox's name for a wasmtime trap: its variant name in snake_case.
pub fn trap_code(trap: Trap) -> Option<TrapCode> {
    let debug = format!("{trap:?}");
    let mut snake = String::with_capacity(debug.len() + 8);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    TrapCode::from_name(&snake)
}

/// The trap code behind `err`, if it is a trap faultbox knows.
pub fn trap_of(err: &wasmtime::Error) -> Option<TrapCode> {
    err.downcast_ref::<Trap>().and_then(|t| trap_code(*t))
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

    /// Every trap wasmtime can raise has a faultbox name.
    #[test]
    fn every_wasmtime_trap_has_a_code() {
        let mut seen = 0;
        for byte in 0..=u8::MAX {
            if let Some(trap) = Trap::from_u8(byte) {
                assert!(trap_code(trap).is_some(), "{trap:?} has no TrapCode");
                seen += 1;
            }
        }
        assert_eq!(seen, TrapCode::ALL.len(), "TrapCode lists variants wasmtime does not have");
    }
}
