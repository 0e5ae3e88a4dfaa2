// V8's errors in faultbox's trap codes: ONE table. V8 reports a trap as a
// WebAssembly.RuntimeError whose message is a template of
// src/common/message-template.h (V8 11.3, this Node's), and call-stack
// exhaustion as the RangeError every JS stack overflow is
// (Isolate::StackOverflow, MessageTemplate::kStackOverflow). Each row was
// provoked in this Node unless its comment says otherwise
// (engines/v8/test/traps.mjs checks them in all three configurations). A message not in the
// table is never guessed into a code.

export const TABLE = [
  // T(WasmTrapUnreachable, "unreachable")
  ['RuntimeError', 'unreachable', 'unreachable_code_reached'],
  // T(WasmTrapMemOutOfBounds, "memory access out of bounds"): loads,
  // stores, memory.fill/copy/init, atomics.
  ['RuntimeError', 'memory access out of bounds', 'memory_out_of_bounds'],
  // T(WasmTrapUnalignedAccess, "operation does not support unaligned
  // accesses"): atomics at an address not naturally aligned (V8 ships
  // threads: atomics on an unshared memory validate).
  ['RuntimeError', 'operation does not support unaligned accesses', 'heap_misaligned'],
  // T(WasmTrapDivByZero) and T(WasmTrapRemByZero): one faultbox code.
  ['RuntimeError', 'divide by zero', 'integer_division_by_zero'],
  ['RuntimeError', 'remainder by zero', 'integer_division_by_zero'],
  // T(WasmTrapDivUnrepresentable, "divide result unrepresentable"):
  // INT_MIN / -1 (rem_s of the same is 0, no trap).
  ['RuntimeError', 'divide result unrepresentable', 'integer_overflow'],
  // T(WasmTrapFloatUnrepresentable): trunc of NaN or out of range, one
  // message for both: faultbox's unspecific code, which stands for
  // bad_conversion_to_integer and integer_overflow.
  ['RuntimeError', 'float unrepresentable in integer range', 'float_unrepresentable'],
  // T(WasmTrapTableOutOfBounds, "table index is out of bounds"):
  // call_indirect past the table's end, table.get/set/fill/copy/init.
  ['RuntimeError', 'table index is out of bounds', 'table_out_of_bounds'],
  // T(WasmTrapFuncSigMismatch, "null function or function signature
  // mismatch"): ONE message for two faultbox codes. V8 does one check for
  // both: it compares the entry's canonical signature id with the call
  // site's, and a null entry holds the id -1, so a call through null fails
  // as a signature mismatch (Liftoff's and TurboFan's call_indirect emit a
  // single kTrapFuncSigMismatch). The message cannot tell which it was:
  // faultbox's unspecific code, which stands for indirect_call_to_null and
  // bad_signature.
  ['RuntimeError', 'null function or function signature mismatch', 'indirect_call_failed'],
  // T(WasmTrapDataSegmentOutOfBounds, "data segment out of bounds"):
  // memory.init past its segment (not provoked by test/traps.mjs).
  ['RuntimeError', 'data segment out of bounds', 'memory_out_of_bounds'],
  // Instantiation's own wording for an active data segment that does not
  // fit (module-instantiate.cc, LoadDataSegments; the wasmtime oracle's
  // "data segment is out of bounds").
  ['RuntimeError', 'data segment is out of bounds', 'memory_out_of_bounds'],
  // T(WasmTrapElementSegmentOutOfBounds, "element segment out of bounds"):
  // table.init past its segment (not provoked here); older V8's wording at
  // instantiation was "table initializer is out of bounds" (the wasmtime
  // oracle's); this V8 says "table index is out of bounds" there (provoked).
  ['RuntimeError', 'element segment out of bounds', 'table_out_of_bounds'],
  ['RuntimeError', 'table initializer is out of bounds', 'table_out_of_bounds'],
  // GC proposal (needs --experimental-wasm-gc, off in these
  // configurations, so never provoked; named for what they are):
  // T(WasmTrapNullDereference, "dereferencing a null pointer")
  ['RuntimeError', 'dereferencing a null pointer', 'null_reference'],
  // T(WasmTrapIllegalCast, "illegal cast")
  ['RuntimeError', 'illegal cast', 'cast_failure'],
  // T(WasmTrapArrayOutOfBounds, "array element access out of bounds")
  ['RuntimeError', 'array element access out of bounds', 'array_out_of_bounds'],
  // T(WasmTrapArrayTooLarge, "requested new array is too large")
  ['RuntimeError', 'requested new array is too large', 'allocation_too_large'],
  // kStackOverflow, thrown by the stack check of every wasm (and JS)
  // function prologue against the thread's stack limit.
  ['RangeError', 'Maximum call stack size exceeded', 'stack_overflow'],
];

// The instantiation messages carry a prefix ("WebAssembly.Instance(): ").
const strip = (m) => m.replace(/^WebAssembly\.[A-Za-z]+\(\): /, '');

// The code for an error V8 threw, or null when it is not a trap we know.
export function trapCode(err) {
  if (err === null || typeof err !== 'object') return null;
  // A wasm exception (V8 implements the legacy exception-handling
  // proposal: try/catch/throw) that no wasm handler caught reaches the
  // embedder as the thrown WebAssembly.Exception object itself.
  if (err instanceof WebAssembly.Exception) return 'uncaught_exception';
  const kind = err instanceof WebAssembly.RuntimeError ? 'RuntimeError' : err instanceof RangeError ? 'RangeError' : null;
  if (!kind) return null;
  const msg = strip(String(err.message));
  const row = TABLE.find(([k, m]) => k === kind && m === msg);
  return row ? row[2] : null;
}

export const isTrap = (err) => err instanceof WebAssembly.RuntimeError;
