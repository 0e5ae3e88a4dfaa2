// `bench` WasmCycles on the guest thread, for this adapter's own model
// only: per cycle a fresh instance, the faulting call, how it ended (facts:
// the supervisor classifies), the instance dropped, each timed. The loop
// runs here, not across the protocol, so no round trip is counted. V8 has
// no instance pool and frees an instance at a later GC: "drop" is only
// letting go of the reference.

import { fbImports } from './fb.mjs';
import { trapCode } from './traps.mjs';
import { writeLine, moduleBytes } from './protocol.mjs';
import { str, uleb } from './wasmgen.mjs';

const now = () => process.hrtime.bigint();

export function benchSteps({ compile, reports, capMemory }) {
  return {
    // WasmCompile: how long `new WebAssembly.Module` takes. With this
    // Node's defaults (--wasm-lazy-compilation on, --wasm-lazy-validation
    // off) that is decoding and validating every function; each function
    // is compiled by Liftoff at its first call, and by TurboFan later, in
    // the background, when it is hot. V8 keeps compiled modules in a process-wide cache keyed
    // by their bytes, so the module is given a custom section of its own
    // first: the same code, bytes V8 has not seen.
    bench_compile: ({ module }) => {
      const { bytes } = moduleBytes(module);
      const name = `faultbox-bench-${process.hrtime.bigint()}`;
      const custom = [0, ...str(name)];
      const fresh = new Uint8Array([...bytes, 0, ...uleb(custom.length), ...custom].length);
      fresh.set(bytes, 0);
      fresh.set([0, ...uleb(custom.length), ...custom], bytes.length);
      const t0 = now();
      new WebAssembly.Module(fresh);
      const ns = now() - t0;
      return { samples: [{ cycles_ns: [], parts_ns: { compile: [String(ns)] }, traps: [], endings: [] }] };
    },
    bench_cycles: ({ model, configs, module, export: name, arg, limits, iterations }) => {
      const others = configs.filter((c) => c.model !== model);
      if (others.length) return { error: `the ${model} adapter cycles its own configuration only, not ${others.map((c) => c.model).join(', ')}` };
      capMemory(Number(limits.memory_mib) * 16);
      const m = compile(module);
      const state = { reports, memory: () => holder.instance?.exports.memory };
      const holder = { instance: null };
      const imports = { fb: fbImports(state) };
      const samples = configs.map(() => ({ cycles_ns: [], parts_ns: { instantiate: [], call_to_trap: [], classify: [], drop: [] }, traps: [], endings: [] }));
      const a = BigInt(arg);
      let lastReport = Date.now();
      for (let i = 0; i < iterations; i++) {
        if (i % 256 === 0 && Date.now() - lastReport >= 100) { lastReport = Date.now(); writeLine({ type: 'progress', done: String(i) }); }
        for (const s of samples) {
          reports.clear();
          const t0 = now();
          const instance = new WebAssembly.Instance(m.module, imports);
          holder.instance = instance;
          // As run.rs's instantiate: fb_init is part of making the instance.
          if (typeof instance.exports.fb_init === 'function') instance.exports.fb_init();
          const f = instance.exports[name];
          const t1 = now();
          let thrown = null, returned = false;
          try { f(a); returned = true; } catch (e) { thrown = e; }
          const t2 = now();
          const code = returned ? null : trapCode(thrown);
          const trap = returned ? { type: 'returned' } : code ? { type: 'trapped', trap: code } : { type: 'failed' };
          const ending = { trap, guest_panic: reports.ctrl[1] >= 0, refused_growth: false };
          const t3 = now();
          holder.instance = null;
          const t4 = now();
          s.cycles_ns.push(String(t4 - t0));
          s.parts_ns.instantiate.push(String(t1 - t0));
          s.parts_ns.call_to_trap.push(String(t2 - t1));
          s.parts_ns.classify.push(String(t3 - t2));
          s.parts_ns.drop.push(String(t4 - t3));
          const key = JSON.stringify(ending);
          const seen = s.traps.find((x) => JSON.stringify(x.ending) === key);
          if (seen) seen.count += 1; else s.traps.push({ ending, count: 1 });
        }
      }
      for (const s of samples) for (const t of s.traps) t.count = String(t.count);
      return { samples };
    },
  };
}
