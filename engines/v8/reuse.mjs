// The state diff of host/src/wasm/reuse.rs, reimplemented: live memory vs
// the dead part of the shadow stack (below __stack_pointer at entry),
// changed bytes, runs merged across gaps < 64 bytes, at most 6 runs,
// exported globals "name: before -> after" but __stack_pointer, and the
// memory size before and after. JS cannot ask the kernel which pages are
// resident (mincore), so a page counts as touched when it holds a byte
// that is not zero, as reuse.rs does where mincore cannot be used: an
// all-zero page reads the same as an untouched one, so the diff is the same.

import { decU, hex } from './protocol.mjs';
import { HOOK_PREFIX } from './growth.mjs';

const PAGE = 4096;
const RUN_GAP = 64;
const MAX_RUNS = 6;
export const STACK_POINTER = '__stack_pointer';
const ZEROS = new Uint8Array(PAGE);

const isZero = (page) => Buffer.compare(page, ZEROS.subarray(0, page.length)) === 0;

// Every exported global by name, as text formatted as wasmtime's backend
// does (`show` in wasmtime_backend/mod.rs).
export function globalsOf(instance, info) {
  const out = [];
  for (const [name, g] of Object.entries(instance.exports)) {
    // The adapter's own globals (growth.mjs) are not the guest's state.
    if (!(g instanceof WebAssembly.Global) || name.startsWith(HOOK_PREFIX)) continue;
    out.push([name, show(g.value, info.exportGlobal(name))]);
  }
  return out;
}

function show(v, type) {
  if (type === 'i32') return hex(v, 32);
  if (type === 'i64') return hex(v, 64);
  if (type === 'f32' || type === 'f64') return rustFloat(v);
  if (v === null) return 'null';
  return typeof v === 'function' ? 'funcref' : String(v);
}

// Rust's Display for floats: no exponent, "inf", "NaN".
function rustFloat(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  const s = String(x);
  if (!/e/.test(s)) return s;
  return x.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 100 });
}

export function stateOf(instance, info) {
  const sp = instance.exports[STACK_POINTER];
  const stackPointer = sp instanceof WebAssembly.Global && info.exportGlobal(STACK_POINTER) === 'i32' ? sp.value >>> 0 : null;
  const mem = instance.exports.memory;
  const memory = mem instanceof WebAssembly.Memory ? new Uint8Array(mem.buffer) : null;
  return { stackPointer, globals: globalsOf(instance, info), memory };
}

export function snapshot(state) {
  let memory = null;
  if (state.memory) {
    const pages = new Map();
    const data = state.memory;
    for (let at = 0; at < data.length; at += PAGE) {
      const page = data.subarray(at, Math.min(at + PAGE, data.length));
      if (!isZero(page)) pages.set(at / PAGE, page.slice());
    }
    memory = { len: data.length, pages };
  }
  return { stackPointer: state.stackPointer, globals: state.globals, memory };
}

class Diff {
  constructor() { this.changed = 0; this.runs = []; }
  note(lo, hi) {
    this.changed += 1;
    const last = this.runs[this.runs.length - 1];
    if (last && (lo <= last[1] + RUN_GAP || this.runs.length === MAX_RUNS)) last[1] = Math.max(last[1], hi);
    else this.runs.push([lo, hi]);
  }
  // Byte by byte over a range known to differ: the same counts and runs as
  // reuse.rs's word-at-a-time loop (a word's changed bytes are one run).
  add(old, now, base) {
    const common = Math.min(old.length, now.length);
    if (common > 0 && Buffer.compare(old.subarray(0, common), now.subarray(0, common)) !== 0) {
      for (let i = 0; i < common; i++) if (old[i] !== now[i]) this.note(base + i, base + i);
    }
    for (let i = common; i < now.length; i++) if (now[i] !== 0) this.note(base + i, base + i);
  }
}

export function compare(state, before) {
  const stack_pointer = before.stackPointer !== null && state.stackPointer !== null ? [before.stackPointer, state.stackPointer] : null;
  const globals_changed = [];
  before.globals.forEach(([name, a], i) => {
    const after = state.globals[i];
    if (name !== STACK_POINTER && after && a !== after[1]) globals_changed.push(`${name}: ${a} -> ${after[1]}`);
  });
  const live = new Diff(), dead = new Diff();
  let memory_size = null;
  if (before.memory && state.memory) {
    const old = before.memory, now = state.memory;
    memory_size = [decU(old.len), decU(now.length)];
    const liveFrom = Math.min(before.stackPointer ?? 0, old.len, now.length);
    for (let p = 0, at = 0; at < now.length; p++, at += PAGE) {
      const end = Math.min(at + PAGE, now.length);
      const cur = now.subarray(at, end);
      let prev = old.pages.get(p);
      if (!prev) {
        if (isZero(cur)) continue;
        prev = ZEROS.subarray(0, Math.min(end - at, Math.max(0, old.len - at)));
      }
      if (prev.length === cur.length && Buffer.compare(prev, cur) === 0) continue;
      const cut = Math.min(Math.max(liveFrom, at), end) - at;
      const cutOld = Math.min(cut, prev.length);
      dead.add(prev.subarray(0, cutOld), cur.subarray(0, cut), at);
      live.add(prev.subarray(cutOld), cur.subarray(cut), at + cut);
    }
  }
  return {
    health: { type: 'missing' },
    stack_pointer,
    globals_changed,
    memory_changed_bytes: decU(live.changed),
    memory_changed_runs: live.runs,
    dead_stack_changed_bytes: decU(dead.changed),
    dead_stack_changed_runs: dead.runs,
    memory_size,
    rounds_healthy: null,
    rounds_broke: null,
    rounds_stopped: null,
  };
}
