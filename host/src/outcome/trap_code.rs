//! Wasm trap codes, named in snake_case: one variant per `wasmtime::Trap`,
//! and one per wasmtime error that ends a call like a trap (`NOT_TRAPS`).

use super::FaultClass;
use serde::{Deserialize, Serialize};

macro_rules! trap_codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $class:ident;)*) => {
        /// Why wasm execution stopped, as the engine reported it. Mirrors
        /// `wasmtime::Trap` variant for variant (plus [`TrapCode::NOT_TRAPS`]),
        /// so reports and manifests can name traps without depending on
        /// wasmtime.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum TrapCode {
            $($(#[$doc])* $variant,)*
        }

        impl TrapCode {
            /// Every trap code, in wasmtime's order.
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
    /// The epoch deadline passed (faultbox's wasm timeout).
    Interrupt => "interrupt", Timeout;
    /// The fuel budget ran out.
    OutOfFuel => "out_of_fuel", Timeout;
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
    /// Component model: re-entrance into a component instance.
    CannotEnterComponent => "cannot_enter_component", Unknown;
    /// Component model: an async export produced no result.
    NoAsyncResult => "no_async_result", Unknown;
    /// Stack switching: suspend to a tag with no handler.
    UnhandledTag => "unhandled_tag", Unknown;
    /// Stack switching: a continuation resumed twice.
    ContinuationAlreadyConsumed => "continuation_already_consumed", Unknown;
    /// Pulley: an opcode disabled at compile time was executed.
    DisabledOpcode => "disabled_opcode", Unknown;
    /// Component model: the async event loop deadlocked.
    AsyncDeadlock => "async_deadlock", Unknown;
    /// Component model: a forbidden call out of an instance.
    CannotLeaveComponent => "cannot_leave_component", Unknown;
    /// Component model: a sync task tried to block.
    CannotBlockSyncTask => "cannot_block_sync_task", Unknown;
    /// Component model: an invalid `char`.
    InvalidChar => "invalid_char", Unknown;
    /// Component model adapter assertion.
    DebugAssertStringEncodingFinished => "debug_assert_string_encoding_finished", Unknown;
    /// Component model adapter assertion.
    DebugAssertEqualCodeUnits => "debug_assert_equal_code_units", Unknown;
    /// Component model adapter assertion.
    DebugAssertPointerAligned => "debug_assert_pointer_aligned", Unknown;
    /// Component model adapter assertion.
    DebugAssertUpperBitsUnset => "debug_assert_upper_bits_unset", Unknown;
    /// Component model: a string past the end of memory.
    StringOutOfBounds => "string_out_of_bounds", MemoryFault;
    /// Component model: a list past the end of memory.
    ListOutOfBounds => "list_out_of_bounds", MemoryFault;
    /// Component model: an invalid variant discriminant.
    InvalidDiscriminant => "invalid_discriminant", Unknown;
    /// Component model: an unaligned pointer.
    UnalignedPointer => "unaligned_pointer", MemoryFault;
    /// Component model: `task.cancel` by a task not cancelled.
    TaskCancelNotCancelled => "task_cancel_not_cancelled", Unknown;
    /// Component model: `task.return`/`task.cancel` twice.
    TaskCancelOrReturnTwice => "task_cancel_or_return_twice", Unknown;
    /// Component model: `subtask.cancel` after terminal status.
    SubtaskCancelAfterTerminal => "subtask_cancel_after_terminal", Unknown;
    /// Component model: invalid `task.return`.
    TaskReturnInvalid => "task_return_invalid", Unknown;
    /// Component model: dropping a waitable set with waiters.
    WaitableSetDropHasWaiters => "waitable_set_drop_has_waiters", Unknown;
    /// Component model: dropping an unresolved subtask.
    SubtaskDropNotResolved => "subtask_drop_not_resolved", Unknown;
    /// Component model threads: a start function of the wrong type.
    ThreadNewIndirectInvalidType => "thread_new_indirect_invalid_type", Unknown;
    /// Component model threads: an uninitialized start function.
    ThreadNewIndirectUninitialized => "thread_new_indirect_uninitialized", Unknown;
    /// Component model: backpressure counter overflow.
    BackpressureOverflow => "backpressure_overflow", Unknown;
    /// Component model: an unsupported callback code.
    UnsupportedCallbackCode => "unsupported_callback_code", Unknown;
    /// Component model threads: resuming a thread that is not suspended.
    CannotResumeThread => "cannot_resume_thread", Unknown;
    /// Component model: concurrent future/stream operations.
    ConcurrentFutureStreamOp => "concurrent_future_stream_op", Unknown;
    /// Component model: a reference count overflowed.
    ReferenceCountOverflow => "reference_count_overflow", Unknown;
    /// Component model: a stream operation too large.
    StreamOpTooBig => "stream_op_too_big", ResourceLimit;
    /// Component model: a waitable used sync and async at once.
    WaitableSyncAndAsync => "waitable_sync_and_async", Unknown;
    /// An exception no handler caught reached the host: in core wasm,
    /// wasmtime's `ThrownException` error; in a component, its trap. Like
    /// C++'s `std::terminate`, the guest's own unwinding found no catch.
    UncaughtException => "uncaught_exception", Abort;
    /// Not a `wasmtime::Trap`: the GC heap could not make room for an
    /// allocation (after a collection, growth refused by the store's
    /// limiter or past the heap's maximum). wasmtime returns it as the
    /// error `GcHeapOutOfMemory`, and it ends the call like a trap.
    GcHeapOutOfMemory => "gc_heap_out_of_memory", ResourceLimit;
}

impl TrapCode {
    /// The codes that stand for wasmtime errors that are not `Trap`s.
    pub const NOT_TRAPS: &'static [TrapCode] = &[TrapCode::GcHeapOutOfMemory];
}

impl std::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
