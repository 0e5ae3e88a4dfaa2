// The `fb` imports (wasm/wasmtime_backend/imports.rs is the contract) and
// the host operations behind fb.host_call (host/src/host_ops.rs), done as
// a host written in JavaScript really does them.

import { writeLine, OUTPUT_TAIL_BYTES } from './protocol.mjs';
import { HOST_OPS } from './reports.mjs';

// A host function's refusal: the call ends as host_error.
export class HostOpError extends Error {}
// A host function that threw: the call ends as host_panic.
export class HostPanic extends Error {}

const MAY_KILL_HOST = new Set([2, 3, 4]); // panic, stack_overflow, bad_pointer

// Unbounded recursion in host code, with a frame that holds some locals.
function recurseInHost(depth) {
  const frame = [depth, depth + 1, depth + 2, depth + 3];
  return recurseInHost(depth + 1) + frame[depth & 3];
}

function perform(op) {
  switch (op) {
    case 0: return BigInt(op);
    case 1: throw new HostOpError('host function refused the call: permission denied for this plugin');
    case 2: throw new HostPanic('host function panicked while serving the guest');
    case 3:
      try {
        return BigInt(recurseInHost(0));
      } catch (e) {
        // The host's own recursion ran into the thread's stack limit: V8
        // threw its stack-overflow RangeError inside the host function,
        // which unwound the host frames; the guest's frames are untouched.
        throw new HostPanic(`host function overflowed its stack: ${e?.name}: ${e?.message} (a RangeError thrown inside the host function's own recursion, not the guest's)`);
      }
    case 4: {
      // No raw pointers in JavaScript: the nearest real thing is a read at
      // the wild address through a view of a small buffer, which the
      // engine bounds-checks.
      const view = new DataView(new ArrayBuffer(8));
      try {
        return view.getBigUint64(0xDEADBEE0, true);
      } catch (e) {
        throw new HostOpError(`host read of 8 bytes at 0xdeadbee0 through a DataView of an 8-byte buffer failed: ${e.name}: ${e.message}`);
      }
    }
    default: throw new HostOpError(`unknown host operation ${op}`);
  }
}

// `state.memory()` gives the instance's exported memory once it exists.
export function fbImports(state) {
  const { reports } = state;
  const read = (ptr, len, cap) => {
    const mem = state.memory();
    if (!mem) return new Uint8Array(0);
    const data = new Uint8Array(mem.buffer);
    const start = Math.min(ptr >>> 0, data.length);
    const end = Math.min(start + Math.min(len >>> 0, cap), data.length);
    return data.slice(start, end);
  };
  return {
    progress(v) {
      reports.progress(v);
      if (reports.takeReady() && !reports.terminated) writeLine({ type: 'ready' });
    },
    panic_message(ptr, len) { reports.panic(read(ptr, len, 4096)); },
    write(ptr, len) {
      len >>>= 0;
      const keep = Math.min(len, OUTPUT_TAIL_BYTES);
      // Only the tail is copied; the rest is counted, as is any part of
      // the range outside memory.
      const bytes = read((ptr + (len - keep)) | 0, keep, keep);
      reports.out.push(bytes);
      reports.out.countSkipped(len - bytes.length);
    },
    host_call(op) {
      // The guest chose the number: its mistake ends its own call, with
      // no operation in flight.
      if (!(op >= 0 && op < HOST_OPS.length)) throw new HostOpError(`unknown host operation ${op}`);
      reports.hostCall = op;
      if (MAY_KILL_HOST.has(op) && !reports.terminated) writeLine({ type: 'host_call', op: HOST_OPS[op] });
      const value = perform(op);
      reports.hostCall = -1;
      return value;
    },
  };
}
