// The guest thread: a worker_threads Worker that owns every module and
// instance and runs the guest. The main thread sends it one step at a time
// and may terminate it mid-step when the step's CPU budget is spent; what
// must survive that (the guest's reports) lives in a SharedArrayBuffer.

import { parentPort, workerData } from 'node:worker_threads';
import fs from 'node:fs';
import v8 from 'node:v8';
import { moduleBytes } from './protocol.mjs';
import { Reports } from './reports.mjs';
import { fbImports } from './fb.mjs';
import { Wasi } from './wasi.mjs';
import { moduleInfo } from './modinfo.mjs';
import { endingOf, describeThrown } from './endings.mjs';
import { stateOf, snapshot, compare } from './reuse.mjs';
import { specSteps } from './spec.mjs';
import { hookGrowth, HOOK_PREFIX, HOOK_GLOBALS } from './growth.mjs';
import { benchSteps } from './bench.mjs';

// wasmtime keeps 32 frames of a trap's backtrace (BACKTRACE_FRAMES).
Error.stackTraceLimit = 32;

const reports = new Reports(workerData.reports);
const HEALTH = 'fb_health', INIT = 'fb_init', START = '_start';

// This thread's CPU time, ns: the first field of its schedstat.
const selfStat = '/proc/thread-self/schedstat';
const cpuNs = () => Number(fs.readFileSync(selfStat, 'latin1').split(' ')[0]);
const timed = (f) => {
  const w0 = process.hrtime.bigint(), c0 = cpuNs();
  const r = f();
  return { r, wall_us: Number((process.hrtime.bigint() - w0) / 1000n), cpu_us: Math.round((cpuNs() - c0) / 1000) };
};

let memCapPages = null;
function capMemory(pages) {
  // V8 caps a memory's maximum when the memory is allocated, from this
  // process-wide flag (wasm::max_mem32_pages()); memory.grow past it
  // returns -1. Set before every instantiation that needs another cap.
  if (pages !== memCapPages) { v8.setFlagsFromString(`--wasm-max-mem-pages=${pages}`); memCapPages = pages; }
}

// Compiled modules by path, or by their bytes for inline modules.
const modules = new Map();
function compile(wire) {
  const { bytes, key } = moduleBytes(wire);
  const k = key ?? 'bytes:' + Buffer.from(bytes).toString('base64');
  let m = modules.get(k);
  if (!m) {
    // The module with its memory.grow hooked when that can be done and V8
    // takes it; else the module as it came (its refusals unseen).
    const hooked = hookGrowth(bytes);
    let module = null;
    if (hooked) try { module = new WebAssembly.Module(hooked); } catch { module = null; }
    m = { module: module ?? new WebAssembly.Module(bytes), info: moduleInfo(bytes), hooked: module !== null };
    modules.set(k, m);
  }
  return m;
}

// Copies the hook's counts of refused growth into the shared reports:
// only refusals the store limit made (not the module's own maximum, not
// a growth past it that V8 could not allocate below the cap).
let capPages = 0, capMib = 0;
function noteRefusals(instance, info) {
  const g = (name) => instance?.exports[HOOK_PREFIX + name]?.value ?? 0;
  const [count, fp, fd, lp, ld] = HOOK_GLOBALS.map(g);
  if (count === 0) return;
  const byLimit = (pages, delta) => {
    const want = pages + (delta >>> 0);
    return want > capPages && (info.memory?.max ?? 65536) >= want;
  };
  const first = byLimit(fp, fd), last = byLimit(lp, ld);
  if (!first && !last) return;
  const r = first && last ? [count, fp, fd, lp, ld] : first ? [1, fp, fd, 0, 0] : [1, lp, ld, 0, 0];
  reports.setRefusals(r, capMib);
}

let current = null; // { instance, info, wasi, snap }

function instantiate({ module, wasi, args, memPages }) {
  const m = compile(module);
  capMemory(memPages);
  capPages = memPages; capMib = memPages / 16;
  reports.clear();
  const holder = { instance: null };
  const memory = () => holder.instance?.exports.memory;
  const w = wasi ? new Wasi(args, reports, memory) : null;
  const imports = { fb: fbImports({ reports, memory }), ...(w ? w.imports : {}) };
  const { r, wall_us, cpu_us } = timed(() => {
    try {
      const instance = new WebAssembly.Instance(m.module, imports);
      holder.instance = instance;
      if (w) {
        if (typeof instance.exports[START] === 'function') {
          // A command: node:wasi's start() would call _start now; the
          // memory is given to WASI by hand and _start is the run's call.
          const set = Object.getOwnPropertySymbols(w.wasi).find((s) => s.description === 'kSetMemory');
          w.wasi[set](instance.exports.memory);
        } else {
          // A reactor: node calls its _initialize.
          w.wasi.initialize(instance);
        }
      }
      if (typeof instance.exports[INIT] === 'function') instance.exports[INIT]();
      return { instance };
    } catch (e) {
      return { error: e };
    }
  });
  noteRefusals(holder.instance, m.info);
  if (r.error !== undefined) {
    // Link errors are the module's refusal; anything else ended the run.
    if (r.error instanceof WebAssembly.LinkError) return { ok: false, refused: r.error.message };
    return { ok: false, ending: endingOf(r.error, w, m.info), wall_us, cpu_us };
  }
  current = { instance: r.instance, info: m.info, wasi: w, snap: null };
  return { ok: true, us: wall_us };
}

function checkEntry(name) {
  const ty = current.info.exportFunc(name);
  const want = name === START ? { params: [], results: [] } : { params: ['i64'], results: ['i64'] };
  if (ty === undefined) return `failed to find function export \`${name}\``;
  if (!ty || ty.params.join() !== want.params.join() || ty.results.join() !== want.results.join()) {
    return `type mismatch: export \`${name}\` is (${ty?.params}) -> (${ty?.results}), not (${want.params}) -> (${want.results})`;
  }
  return null;
}

function call({ name, arg }) {
  const f = current.instance.exports[name];
  const { r, wall_us, cpu_us } = timed(() => {
    try {
      if (name === START) { f(); return { type: 'exited', code: 0 }; }
      return { type: 'completed', value: BigInt.asIntN(64, f(BigInt(arg))).toString() };
    } catch (e) {
      return endingOf(e, current.wasi, current.info);
    }
  });
  noteRefusals(current.instance, current.info);
  return { ending: r, wall_us, cpu_us };
}

function health() {
  const f = current.instance.exports[HEALTH];
  if (typeof f !== 'function') return { type: 'missing' };
  const ty = current.info.exportFunc(HEALTH);
  if (!ty || ty.params.length !== 0 || ty.results.join() !== 'i64') {
    return { type: 'failed', message: `${HEALTH} cannot be called as () -> i64: it is (${ty?.params}) -> (${ty?.results})` };
  }
  try {
    return { type: 'returned', value: BigInt.asIntN(64, f()).toString() };
  } catch (e) {
    return { type: 'failed', message: healthFailure(endingOf(e, current.wasi, current.info)) };
  }
}

// health_failure in wasm/backend.rs.
function healthFailure(e) {
  switch (e.type) {
    case 'trapped': return `trapped: ${e.trap}`;
    case 'host_panic': return `host panic: ${e.message}`;
    case 'exited': return `proc_exit(${e.code})`;
    default: return e.message;
  }
}

// What the module imports that the adapter does not define (V8 would say
// so only at instantiation, as a LinkError): `fb`'s four functions, and
// WASI preview 1's when the run links WASI.
const FB = ['progress', 'panic_message', 'write', 'host_call'];
let wasiNames = null;
function unlinkable(module, wasi) {
  for (const imp of WebAssembly.Module.imports(module)) {
    let ok = false;
    if (imp.module === 'fb') ok = imp.kind === 'function' && FB.includes(imp.name);
    else if (wasi && imp.module === 'wasi_snapshot_preview1') {
      wasiNames ??= new Set(Object.keys(new Wasi([], reports, () => null).imports.wasi_snapshot_preview1));
      ok = imp.kind === 'function' && wasiNames.has(imp.name);
    }
    if (!ok) return `unknown import: \`${imp.module}::${imp.name}\` (${imp.kind}) has not been defined`;
  }
  return null;
}

const steps = {
  hello: () => ({ tid: fs.readlinkSync('/proc/thread-self').split('/').pop() }),
  prepare: ({ module, wasi, memPages }) => {
    try {
      // V8 checks a module's initial memory against the same flag when it
      // decodes the module: the request's cap must be in place first.
      capMemory(memPages);
      const w0 = process.hrtime.bigint();
      const m = compile(module);
      const missing = unlinkable(m.module, wasi);
      if (missing) return { refused: missing };
      return { us: Number((process.hrtime.bigint() - w0) / 1000n) };
    } catch (e) {
      return { refused: e instanceof Error ? e.message : describeThrown(e) };
    }
  },
  instantiate,
  check_entry: ({ name }) => ({ error: checkEntry(name) }),
  snapshot: () => { current.snap = snapshot(stateOf(current.instance, current.info)); return {}; },
  call,
  compare: () => ({ facts: compare(stateOf(current.instance, current.info), current.snap) }),
  health: () => {
    const w0 = process.hrtime.bigint();
    const h = health();
    noteRefusals(current.instance, current.info);
    return { health: h, us: Number((process.hrtime.bigint() - w0) / 1000n) };
  },
  drop: () => { current = null; return {}; },
  ...specSteps({ capMemory, reports, timed }),
  ...benchSteps({ compile, reports, capMemory }),
};

parentPort.on('message', ({ id, op, args }) => {
  let result;
  try {
    result = steps[op](args ?? {});
  } catch (e) {
    result = { adapterError: describeThrown(e) + (e?.stack ? `\n${e.stack}` : '') };
  }
  parentPort.postMessage({ id, result });
});
