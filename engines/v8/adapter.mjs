// faultbox's V8 engine adapter: a worker of the faultbox worker protocol v2
// (host/src/protocol/mod.rs) that runs guests in the V8 of the Node.js
// running it. Started as `node [V8 flags] engines/v8/adapter.mjs <model>`;
// the model's configuration is the V8 flags the process really runs with.
//
// This main thread reads requests, writes replies and keeps budgets; the
// guest runs on a worker thread (budget.mjs) that it can stop.

import fs from 'node:fs';
import readline from 'node:readline';
import { writeLine, parseDec, PROTOCOL_VERSION } from './protocol.mjs';
import { GuestThread, stuckThreads } from './budget.mjs';
import { runWasm, freshContext, AdapterError } from './run.mjs';
import { specRequest, SPEC_REQUESTS } from './spec-main.mjs';

const model = process.argv[process.argv.length - 1];
const flags = process.execArgv;
const explicit = flags.includes('--wasm-enforce-bounds-checks');
const liftoffOnly = flags.includes('--liftoff-only');

// Node installs V8's wasm trap handler (a SIGSEGV handler) on x64 Linux
// when V8 accepts it: the handler is there iff SIGSEGV is caught.
function segvCaught() {
  const m = fs.readFileSync('/proc/self/status', 'latin1').match(/^SigCgt:\s*([0-9a-f]+)$/m);
  return m ? (BigInt('0x' + m[1]) >> 10n) & 1n : 0n;
}
const trapHandler = segvCaught() === 1n;

function configuration() {
  // V8's defaults in this Node: lazy compilation (a function is compiled at
  // its first call) with eager validation.
  const tiers = liftoffOnly
    ? 'Liftoff only (--liftoff-only: no TurboFan tier-up), each function compiled at its first call'
    : 'Liftoff at a function\'s first call, then TurboFan tier-up of hot functions (dynamic tiering)';
  const bounds = explicit
    ? `explicit bounds checks in code (--wasm-enforce-bounds-checks${trapHandler ? '; the trap handler is installed but the code does not rely on it' : ''})`
    : trapHandler ? 'signal-based bounds checks (the wasm trap handler: SIGSEGV in guard regions)' : 'explicit bounds checks (no trap handler installed)';
  const f = flags.length ? `node flags ${flags.join(' ')}` : 'node defaults';
  return `V8 ${process.versions.v8} in Node ${process.version}: ${tiers}; ${bounds}; ${f}; guest on a worker thread, stopped by worker.terminate()`;
}

function capabilities() {
  const caps = ['proposal:tail_calls', 'wasi_p1', 'backtraces', 'interruption:terminate_thread'];
  if (trapHandler && !explicit) caps.push('signals_based_traps');
  return caps;
}

writeLine({
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  worker: model,
  engine: { family: 'v8', version: process.versions.v8, configuration: configuration(), capabilities: capabilities() },
  requests: ['wasm', ...SPEC_REQUESTS, 'bench'],
});

// One guest thread at a time, for one wasm stack size; replaced when it
// was terminated or another stack size is asked for.
let guest = null;
async function guestFor(stackKib) {
  if (!guest || guest.dead || guest.stackKib !== stackKib) {
    guest?.worker.terminate().catch(() => {});
    guest = new GuestThread(stackKib);
    await guest.ready;
  }
  return guest;
}

async function serveWasm(req) {
  if (req.model !== model) return { type: 'failed', message: `a ${model} worker was asked to run ${req.model}` };
  // A request that breaks the protocol is refused as a whole, before any
  // module is read: the wire's rules, not the module's doing.
  try {
    parseDec(req.arg, 'arg');
    if (req.module?.type === 'path' && !String(req.module.path).startsWith('/')) throw new Error(`a module path must be absolute, not ${req.module.path}`);
  } catch (e) {
    return { type: 'failed', message: `bad request: ${e.message}` };
  }
  const stackKib = Number(req.limits.wasm_stack_kib);
  const g = await guestFor(stackKib);
  const t0 = process.hrtime.bigint();
  const memPages = Number(req.limits.memory_mib) * 16;
  const prep = await g.step('prepare', { module: req.module, wasi: req.wasi, memPages });
  writeLine({ type: 'compiled', us: String((process.hrtime.bigint() - t0) / 1000n) });
  if (prep.adapterError) throw new AdapterError(prep.adapterError);
  if (prep.refused) return { type: 'refused', message: prep.refused };
  const { obs, fresh } = await runWasm(g, req);
  if (fresh) {
    // A new thread, when the call's was terminated, compiles again first
    // (V8 shares compiled code process-wide): not part of the fresh
    // instance's cost.
    const again = await guestFor(stackKib);
    const ready = again === g || !(await again.step('prepare', { module: req.module, wasi: req.wasi, memPages })).adapterError;
    if (ready) {
      const us = await freshContext(again, fresh, Number(req.limits.timeout_ms));
      if (us !== null) obs.fresh_context_us = String(us);
    }
  }
  return { type: 'wasm', ...obs };
}

// `bench`: WasmCycles of this model, run on the guest thread; the whole
// request under one budget (every cycle's share of it), since a cycle
// that runs away would otherwise hold the adapter forever.
async function serveBench(job) {
  if (job?.type === 'wasm_compile') {
    if (job.model !== model) return { type: 'failed', message: `the ${model} adapter compiles for its own configuration only, not ${job.model}` };
    const g = await guestFor(Number(job.wasm_stack_kib));
    const r = await g.step('bench_compile', { module: job.module });
    if (r.adapterError) return { type: 'failed', message: r.adapterError };
    return { type: 'bench', samples: r.samples };
  }
  if (job?.type !== 'wasm_cycles') return { type: 'failed', message: `the ${model} adapter serves bench \`wasm_cycles\` and \`wasm_compile\` only, not \`${job?.type}\`` };
  const g = await guestFor(Number(job.limits.wasm_stack_kib));
  const budget = Number(job.limits.timeout_ms) * Math.max(1, job.iterations) * Math.max(1, job.configs.length);
  const r = await g.step('bench_cycles', { ...job, model }, budget);
  if (r.terminated) return { type: 'failed', message: `the bench cycles ran out of their budget (${budget} ms) and the guest thread was terminated` };
  if (r.adapterError) return { type: 'failed', message: r.adapterError };
  if (r.error) return { type: 'failed', message: r.error };
  return { type: 'bench', samples: r.samples };
}

async function serve(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return { type: 'failed', message: `bad request: ${e.message}` };
  }
  try {
    if (req.type === 'wasm') return await serveWasm(req);
    if (req.type === 'bench') return await serveBench(req.job);
    if (SPEC_REQUESTS.includes(req.type)) return await specRequest(req, guestFor);
    return { type: 'failed', message: `the ${model} worker does not serve \`${req.type}\` requests` };
  } catch (e) {
    return { type: 'failed', message: e instanceof AdapterError ? e.message : `${e?.name}: ${e?.message}` };
  }
}

// SIGTERM keeps its default action, which ends the process at once: a
// handler calling process.exit() would first join every worker thread,
// and one abandoned in a blocking WASI call (a poll_oneoff sleep, which
// worker.terminate() cannot cut short) would hold the exit until it
// returns. Stdin's end exits 0 the same way, so it too can wait for such
// a thread; the supervisor's SIGTERM a second later ends that wait.
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(() => serve(line)).then(writeLine).then(() => {
    // A guest thread that outlived its termination (blocked in the
    // kernel) keeps its memory: this adapter ends after its reply, and
    // the supervisor replaces it as any worker that died idle.
    if (stuckThreads() > 0) {
      process.stderr.write(`faultbox v8 adapter: a terminated guest thread is still blocked; the adapter ends so that its memory goes with it\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  });
});
rl.on('close', () => queue.then(() => process.exit(0)));
