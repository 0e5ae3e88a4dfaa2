// The spec-script steps on the guest thread: one store per script
// (spec_begin), holding the script's modules, instances and registered
// names, with `spectest` in it as wasmtime's `wast` crate defines it.
//
// Numbers cross as bits. A JS number cannot be trusted with a NaN's
// payload (f32 goes through a double; V8 may canonicalise), and v128 has
// no JS form at all, so a call or global read that involves f32, f64 or
// v128 goes through a small generated wrapper module that imports the
// target directly (a wasm-to-wasm call, no JS conversion) and moves the
// numbers through its own memory as raw bytes; references pass as they are.

import { module as wasmModule, T, uleb } from './wasmgen.mjs';
import { moduleInfo } from './modinfo.mjs';
import { trapCode } from './traps.mjs';
import { describeThrown } from './endings.mjs';

const FEATURE = /--experimental-wasm-([\w-]+)/;

// A compile error that names a feature V8 has behind a flag is a feature
// this configuration lacks, not a bad module; so are a few limits V8 11.3
// has no flag for.
function unavailable(message) {
  const m = message.match(FEATURE);
  // V8 11.3 reads value type 0x64 (Wasm 3.0's non-null `(ref ht)` of
  // typed function references) as stringref, a proposal it has behind a
  // flag: the feature the module needs is function references.
  if (m && m[1] === 'stringref') return `the module uses value type 0x64, a non-null reference of typed function references (Wasm 3.0), which V8 ${process.versions.v8} does not ship; it reads 0x64 as stringref, behind --experimental-wasm-stringref: ${message}`;
  if (m) return `V8 ${process.versions.v8} has the ${m[1]} proposal only behind --experimental-wasm-${m[1]}, off in this configuration: ${message}`;
  if (/At most one (memory|table) is supported|more than one memory/i.test(message)) return `V8 ${process.versions.v8} does not implement multi-memory: ${message}`;
  return null;
}

const SLOT = 16;

// Each memory of a script: a scenario's default memory limit (256 MiB), the
// cap faultbox's other engines put on a script's store
// (host/src/worker/wast/cap.rs). V8 caps each memory, not a store's total:
// that is bounded from outside, by the supervisor's watch on this
// process's resident memory.
const SPEC_MEMORY_PAGES = 4096;

export function specSteps({ capMemory, timed }) {
  let store = null;

  function begin() {
    const print = () => {};
    const spectest = {
      print, print_i32: print, print_i64: print, print_f32: print, print_f64: print, print_i32_f32: print, print_f64_f64: print,
      global_i32: new WebAssembly.Global({ value: 'i32' }, 666),
      global_i64: new WebAssembly.Global({ value: 'i64' }, 666n),
      global_f32: new WebAssembly.Global({ value: 'f32' }, 666.6),
      global_f64: new WebAssembly.Global({ value: 'f64' }, 666.6),
      table: new WebAssembly.Table({ element: 'anyfunc', initial: 10, maximum: 20 }),
      memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
    };
    store = { modules: [], instances: [], registered: new Map([['spectest', spectest]]), externs: new Map(), wrappers: new Map() };
  }

  const noStore = { type: 'failed', message: 'no spec_begin before this step' };

  function compile(bytes) {
    try {
      return { module: new WebAssembly.Module(bytes) };
    } catch (e) {
      const message = e instanceof Error ? e.message : describeThrown(e);
      const why = unavailable(message);
      return why ? { unavailable: why } : { rejected: message };
    }
  }

  const bytesOf = (m) => {
    if (m.type === 'bytes') return new Uint8Array(Buffer.from(m.base64, 'base64'));
    throw new Error(`spec modules travel as bytes, not ${m.type}`);
  };

  // A host reference the script numbered, as one JS object per number.
  const externOf = (n) => {
    if (!store.externs.has(n)) store.externs.set(n, Object.freeze({ spectestExternref: n }));
    return store.externs.get(n);
  };

  function trapped(e) {
    const trap = trapCode(e);
    if (trap) return { type: 'trapped', trap, message: e instanceof WebAssembly.Exception ? 'uncaught exception' : e.message };
    return { type: 'failed', message: describeThrown(e) };
  }

  // The wrapper for a function type: `call` takes the reference arguments
  // as parameters, reads the numeric ones from memory slot i, calls the
  // import, writes numeric results to slot i and returns the reference
  // results. One module per type, one instance per target.
  function wrapperFor(ty) {
    const key = `${ty.params}->${ty.results}`;
    let w = store.wrappers.get(key);
    if (w) return w;
    const code = { i32: T.i32, i64: T.i64, f32: T.f32, f64: T.f64, v128: T.v128, funcref: T.funcref, externref: T.externref };
    const load = { i32: [0x28, 2], i64: [0x29, 3], f32: [0x2a, 2], f64: [0x2b, 3], v128: [0xfd, 0x00, 4] };
    const storeOp = { i32: [0x36, 2], i64: [0x37, 3], f32: [0x38, 2], f64: [0x39, 3], v128: [0xfd, 0x0b, 4] };
    const isRef = (t) => t === 'funcref' || t === 'externref';
    const refParams = ty.params.filter(isRef), refResults = ty.results.filter(isRef);
    const body = [];
    let refIdx = 0;
    ty.params.forEach((t, i) => {
      if (isRef(t)) { body.push(0x20, ...uleb(refIdx++)); return; }
      body.push(0x41, ...uleb(0), ...load[t], ...uleb(i * SLOT));
    });
    body.push(0x10, 0);
    // Results come off the stack last first: into locals, then out.
    const locals = ty.results.map((t) => [1, code[t]]);
    const firstLocal = refParams.length;
    for (let i = ty.results.length - 1; i >= 0; i--) body.push(0x21, ...uleb(firstLocal + i));
    ty.results.forEach((t, i) => {
      if (isRef(t)) return;
      body.push(0x41, ...uleb(0), 0x20, ...uleb(firstLocal + i), ...storeOp[t], ...uleb(i * SLOT));
    });
    ty.results.forEach((t, i) => { if (isRef(t)) body.push(0x20, ...uleb(firstLocal + i)); });
    const bytes = wasmModule({
      types: [{ params: ty.params.map((t) => code[t]), results: ty.results.map((t) => code[t]) }, { params: refParams.map((t) => code[t]), results: refResults.map((t) => code[t]) }],
      imports: [{ module: 't', name: 'f', type: 0 }],
      funcs: [{ type: 1, locals, body }],
      memory: { min: 1 },
      exports: [{ name: 'call', func: 1 }, { name: 'mem', kind: 2, index: 0 }],
    });
    w = new WebAssembly.Module(bytes);
    store.wrappers.set(key, w);
    return w;
  }

  function writeNum(view, at, t, v) {
    switch (v.type) {
      case 'i32': view.setInt32(at, v.value, true); break;
      case 'i64': view.setBigInt64(at, BigInt(v.value), true); break;
      case 'f32': view.setUint32(at, v.bits >>> 0, true); break;
      case 'f64': view.setBigUint64(at, BigInt(v.bits), true); break;
      case 'v128': {
        const hex = v.hex.padStart(32, '0');
        for (let b = 0; b < 16; b++) view.setUint8(at + b, parseInt(hex.slice(30 - 2 * b, 32 - 2 * b), 16));
        break;
      }
      default: throw new Error(`${v.type} is not a ${t}`);
    }
  }

  function readNum(view, at, t) {
    switch (t) {
      case 'i32': return { type: 'i32', value: view.getInt32(at, true) };
      case 'i64': return { type: 'i64', value: view.getBigInt64(at, true).toString() };
      case 'f32': return { type: 'f32', bits: view.getUint32(at, true) };
      case 'f64': return { type: 'f64', bits: view.getBigUint64(at, true).toString() };
      case 'v128': {
        let hex = '';
        for (let b = 15; b >= 0; b--) hex += view.getUint8(at + b).toString(16).padStart(2, '0');
        return { type: 'v128', hex };
      }
    }
    throw new Error(`cannot read ${t}`);
  }

  function refArg(v, t) {
    if (v.type === 'ref_null') return null;
    if (v.type === 'externref' && t === 'externref') return v.value === null || v.value === undefined ? {} : externOf(v.value);
    throw new Error(`a ${v.type} argument cannot be passed as ${t}`);
  }

  function refResult(x, t) {
    if (x === null) return { type: 'ref_null', heap: t === 'funcref' ? 'func' : 'extern' };
    if (t === 'funcref') return { type: 'funcref' };
    const n = typeof x === 'object' && x !== null && 'spectestExternref' in x ? x.spectestExternref : null;
    return { type: 'externref', value: n };
  }

  const KNOWN = new Set(['i32', 'i64', 'f32', 'f64', 'v128', 'funcref', 'externref']);

  function call({ instance, name, args }) {
    const inst = store.instances[instance];
    if (!inst) return { type: 'failed', message: `no instance ${instance}` };
    const f = inst.instance.exports[name];
    if (typeof f !== 'function') return { type: 'failed', message: `no function export \`${name}\`` };
    const ty = inst.info.exportFunc(name);
    if (!ty) return { type: 'unavailable', reason: `the type of export \`${name}\` could not be read` };
    const odd = [...ty.params, ...ty.results].find((t) => !KNOWN.has(t));
    if (odd) return { type: 'unavailable', reason: `a value of type ${odd} cannot cross V8's JS API in this configuration` };
    if (args.length !== ty.params.length) return { type: 'failed', message: `\`${name}\` takes ${ty.params.length} arguments, not ${args.length}` };
    try {
      const w = new WebAssembly.Instance(wrapperFor(ty), { t: { f } });
      const view = new DataView(w.exports.mem.buffer);
      const refs = [];
      ty.params.forEach((t, i) => {
        if (t === 'funcref' || t === 'externref') refs.push(refArg(args[i], t));
        else writeNum(view, i * SLOT, t, args[i]);
      });
      let out;
      try {
        out = w.exports.call(...refs);
      } catch (e) {
        return trapped(e);
      }
      const refOut = ty.results.filter((t) => t === 'funcref' || t === 'externref');
      const refVals = refOut.length === 0 ? [] : refOut.length === 1 ? [out] : [...out];
      let r = 0;
      const values = ty.results.map((t, i) => (t === 'funcref' || t === 'externref' ? refResult(refVals[r++], t) : readNum(view, i * SLOT, t)));
      return { type: 'values', values };
    } catch (e) {
      return { type: 'unavailable', reason: `the call could not be made through V8's JS API: ${describeThrown(e)}` };
    }
  }

  function global({ instance, name }) {
    const inst = store.instances[instance];
    if (!inst) return { type: 'failed', message: `no instance ${instance}` };
    const g = inst.instance.exports[name];
    if (!(g instanceof WebAssembly.Global)) return { type: 'failed', message: `no global export \`${name}\`` };
    const gt = inst.info.exportGlobalType(name);
    if (!gt) return { type: 'unavailable', reason: `the type of global \`${name}\` could not be read` };
    const t = gt.type;
    if (t === 'funcref' || t === 'externref') return { type: 'values', values: [refResult(g.value, t)] };
    if (!KNOWN.has(t)) return { type: 'unavailable', reason: `a global of type ${t} cannot be read in this configuration` };
    // The same bit-exact route as a call: a wrapper imports the global.
    const code = { i32: T.i32, i64: T.i64, f32: T.f32, f64: T.f64, v128: T.v128 };
    const storeOp = { i32: [0x36, 2], i64: [0x37, 3], f32: [0x38, 2], f64: [0x39, 3], v128: [0xfd, 0x0b, 4] };
    const bytes = wasmModule({
      types: [{ params: [], results: [] }],
      imports: [{ module: 't', name: 'g', global: { type: code[t], mutable: gt.mutable } }],
      funcs: [{ type: 0, body: [0x41, 0, 0x23, 0, ...storeOp[t], 0] }],
      memory: { min: 1 },
      exports: [{ name: 'read', func: 0 }, { name: 'mem', kind: 2, index: 0 }],
    });
    const w = new WebAssembly.Instance(new WebAssembly.Module(bytes), { t: { g } });
    w.exports.read();
    return { type: 'values', values: [readNum(new DataView(w.exports.mem.buffer), 0, t)] };
  }

  function instantiate({ module }) {
    const m = store.modules[module];
    if (!m) return { type: 'failed', message: `no module ${module}` };
    const imports = {};
    for (const imp of WebAssembly.Module.imports(m.module)) {
      const from = store.registered.get(imp.module);
      if (!from || !(imp.name in from)) return { type: 'failed', message: `unknown import: \`${imp.module}::${imp.name}\` has not been defined` };
      imports[imp.module] ??= {};
      imports[imp.module][imp.name] = from[imp.name];
    }
    try {
      const instance = new WebAssembly.Instance(m.module, imports);
      store.instances.push({ instance, info: m.info });
      return { type: 'instance', id: store.instances.length - 1 };
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) return { type: 'failed', message: e.message };
      return trapped(e);
    }
  }

  const guard = (f) => (args) => (store ? f(args) : noStore);
  return {
    spec_begin: () => { begin(); capMemory(SPEC_MEMORY_PAGES); return { type: 'accepted' }; },
    spec_compile: guard(({ module }) => {
      const bytes = bytesOf(module);
      const c = compile(bytes);
      if (c.module) { store.modules.push({ module: c.module, info: moduleInfo(bytes) }); return { type: 'module', id: store.modules.length - 1 }; }
      return c.unavailable ? { type: 'unavailable', reason: c.unavailable } : { type: 'rejected', message: c.rejected };
    }),
    spec_judge: guard(({ module }) => {
      const c = compile(bytesOf(module));
      if (c.module) return { type: 'accepted' };
      return c.unavailable ? { type: 'unavailable', reason: c.unavailable } : { type: 'rejected', message: c.rejected };
    }),
    spec_imports: guard(({ module }) => {
      const m = store.modules[module];
      if (!m) return { type: 'failed', message: `no module ${module}` };
      return { type: 'imports', modules: [...new Set(WebAssembly.Module.imports(m.module).map((i) => i.module))] };
    }),
    spec_instantiate: guard(instantiate),
    spec_register: guard(({ name, instance }) => {
      const inst = store.instances[instance];
      if (!inst) return { type: 'failed', message: `no instance ${instance}` };
      store.registered.set(name, inst.instance.exports);
      return { type: 'accepted' };
    }),
    spec_call: guard(call),
    spec_global: guard(global),
  };
}
