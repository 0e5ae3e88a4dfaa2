//! Wasm trap codes, named in snake_case, engine-neutral: what any engine
//! can report of a core module's execution, plus the few codes an engine
//! really has more of. Each engine maps its own trap representation to
//! these in one table beside its backend (`wasm/wasmtime_backend/trap.rs`,
//! `wasm/wasmi_backend/traps.rs`).

use super::FaultClass;
use serde::{Deserialize, Serialize};

macro_rules! trap_codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $class:ident;)*) => {
        /// Why wasm execution stopped, as the engine reported it, in
        /// faultbox's words: reports and manifests name traps without
        /// depending on any engine.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum TrapCode {
            $($(#[$doc])* $variant,)*
        }

        impl TrapCode {
            /// Every trap code.
            pub const ALL: &'static [TrapCode] = &[$(TrapCode::$variant),*];

            /// The snake_case name used in manifests and reports.
            pub fn name(self) -> &'static str {
                match self { $(TrapCode::$variant => $name,)* }
            }

            /// The fault class this trap stands for.
            pub fn fault_class(self) -> FaultClass {
                match self { $(TrapCode::$variant => FaultClass::$class,)* }
            }

            /// Parses a snake_case name.
            pub fn from_name(name: &str) -> Option<TrapCode> {
                match name { $($name => Some(TrapCode::$variant),)* _ => None }
            }
        }
    };
}

trap_codes! {
    /// The engine's call stack (`max_wasm_stack`) ran out.
    StackOverflow => "stack_overflow", StackExhaustion;
    /// A load or store outside linear memory.
    MemoryOutOfBounds => "memory_out_of_bounds", MemoryFault;
    /// An atomic access at an address that is not naturally aligned.
    HeapMisaligned => "heap_misaligned", MemoryFault;
    /// A table access outside the table (also `call_indirect` past its end).
    TableOutOfBounds => "table_out_of_bounds", IndirectCallFault;
    /// `call_indirect` through a null table entry.
    IndirectCallToNull => "indirect_call_to_null", IndirectCallFault;
    /// `call_indirect` whose callee has another signature.
    BadSignature => "bad_signature", IndirectCallFault;
    /// Signed division overflow (`INT_MIN / -1`).
    IntegerOverflow => "integer_overflow", ArithmeticFault;
    /// Integer division or remainder by zero.
    IntegerDivisionByZero => "integer_division_by_zero", ArithmeticFault;
    /// A float-to-int conversion out of range or of NaN.
    BadConversionToInteger => "bad_conversion_to_integer", ArithmeticFault;
    /// `unreachable` executed: Rust's abort and (with `panic = "abort"`) panics end here.
    UnreachableCodeReached => "unreachable_code_reached", Abort;
    /// The engine was interrupted from outside the call (wasmtime's epoch
    /// deadline, bumped by faultbox's watchdog when a CPU budget is spent).
    Interrupt => "interrupt", Timeout;
    /// The call's fuel ran out: a fuel budget (`fuzz`), or wasmi's CPU
    /// budget, which faultbox stops refuelling once it is spent.
    OutOfFuel => "out_of_fuel", Timeout;
    /// A memory or table growth the embedder's limiter refused by trapping
    /// rather than by returning -1 (wasmi's `GrowthOperationLimited`).
    GrowthLimited => "growth_limited", ResourceLimit;
    /// The engine could not get memory from the host system for an
    /// operation the guest asked for (wasmi's `OutOfSystemMemory`).
    OutOfSystemMemory => "out_of_system_memory", ResourceLimit;
    /// `memory.atomic.wait` on unshared memory.
    AtomicWaitNonSharedMemory => "atomic_wait_non_shared_memory", MemoryFault;
    /// A null reference was dereferenced or called (`struct.get`,
    /// `array.len`, `call_ref`, `i31.get`... on null): the null access
    /// linear memory cannot see, caught.
    NullReference => "null_reference", MemoryFault;
    /// A GC array access out of bounds.
    ArrayOutOfBounds => "array_out_of_bounds", MemoryFault;
    /// A GC allocation that cannot be made: an object too large for its
    /// header's size field, or (null collector) a heap that could not grow
    /// to hold it, the limiter having refused.
    AllocationTooLarge => "allocation_too_large", ResourceLimit;
    /// `ref.cast` to a type the object does not have: the type confusion
    /// an unchecked downcast would turn into a wild memory access, caught.
    CastFailure => "cast_failure", MemoryFault;
    /// Pulley (wasmtime's interpreter): an opcode disabled at compile time
    /// was executed. Engine-specific: no other engine has it.
    DisabledOpcode => "disabled_opcode", Unknown;
    /// An exception no handler caught reached the host (wasmtime's
    /// `ThrownException`). Like C++'s `std::terminate`, the guest's own
    /// unwinding found no catch.
    UncaughtException => "uncaught_exception", Abort;
    /// The GC heap could not make room for an allocation (after a
    /// collection, growth refused by the store's limiter or past the
    /// heap's maximum): wasmtime's error `GcHeapOutOfMemory`.
    GcHeapOutOfMemory => "gc_heap_out_of_memory", ResourceLimit;
    /// A `call_indirect` found a null entry or an entry of another
    /// signature, and the engine does not say which: V8 makes one check
    /// (the entry's signature id against the call site's; a null entry's
    /// id is -1) and one message, "null function or function signature
    /// mismatch". Unspecific: it stands for `indirect_call_to_null` and
    /// `bad_signature` both ([`TrapCode::stands_for`]).
    IndirectCallFailed => "indirect_call_failed", IndirectCallFault;
    /// A float-to-integer truncation of NaN or of a value out of range,
    /// and the engine does not say which: V8's one message "float
    /// unrepresentable in integer range". Unspecific: it stands for
    /// `bad_conversion_to_integer` and `integer_overflow` both.
    FloatUnrepresentable => "float_unrepresentable", ArithmeticFault;
    /// A table access past the table's end or a `call_indirect` through a
    /// null entry, and the engine does not say which: wazero's one error
    /// "invalid table access". Unspecific: it stands for
    /// `table_out_of_bounds` and `indirect_call_to_null` both.
    InvalidTableAccess => "invalid_table_access", IndirectCallFault;
}

impl TrapCode {
    /// The specific codes this one stands for: itself, except for the
    /// unspecific codes of an engine that does not tell two traps apart.
    pub fn stands_for(self) -> &'static [TrapCode] {
        match self {
            TrapCode::IndirectCallFailed => &[TrapCode::IndirectCallToNull, TrapCode::BadSignature],
            TrapCode::FloatUnrepresentable => &[TrapCode::BadConversionToInteger, TrapCode::IntegerOverflow],
            TrapCode::InvalidTableAccess => &[TrapCode::TableOutOfBounds, TrapCode::IndirectCallToNull],
            _ => std::slice::from_ref(TrapCode::ALL.iter().find(|c| **c == self).expect("every code is in ALL")),
        }
    }
}

impl std::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
