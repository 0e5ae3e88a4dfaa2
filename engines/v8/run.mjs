// One `wasm` request, in the sequence host/src/wasm/run.rs gives every
// engine: a fresh instance, the state snapshot, the call under its CPU
// budget, the diff and fb_health on the same instance, reuse rounds when
// the call did not return, then what a fresh instance and its health
// check cost. The guest thread does each step; this side keeps the budget.

import { dec, decU } from './protocol.mjs';

export const HEALTH_OK = 0x600DF00Dn;
const START = '_start';

export class AdapterError extends Error {}

// What a stopped guest thread leaves for the observation.
function interrupted(stop, what) {
  const budget = stop.terminated === 'cpu' ? 'its CPU budget was spent' : 'the wall-clock backstop passed before the CPU budget was spent';
  return {
    type: 'trapped',
    trap: 'interrupt',
    message: `${what} stopped: ${budget} (${Math.round(stop.cpu_us / 1000)} ms of the guest thread's CPU); the adapter stopped the guest thread with worker.terminate() (V8 TerminateExecution): the instance and its isolate are gone, the adapter process lives on`,
    frames: [],
  };
}

const GONE = 'the instance is gone: its guest thread was terminated when the call ran out of budget';

// describe() in wasm/backend.rs.
function describe(e) {
  switch (e.type) {
    case 'completed': return `returned 0x${BigInt.asUintN(64, BigInt(e.value)).toString(16)}`;
    case 'trapped': return `trapped: ${e.trap}`;
    case 'exited': return `proc_exit(${e.code})`;
    default: return e.message;
  }
}

const KEY_LINES = ['panic: ', 'fatal error: ', 'runtime: ', 'unexpected fault address ', '[signal '];
const keyLine = (text) => text.split('\n').map((l) => l.trim()).find((l) => KEY_LINES.some((k) => l.startsWith(k)));

function checked(r) {
  if (r && r.adapterError) throw new AdapterError(r.adapterError);
  return r;
}

export async function runWasm(g, req) {
  const budget = Number(req.limits.timeout_ms);
  const memPages = Number(req.limits.memory_mib) * 16;
  const inst = { module: req.module, wasi: req.wasi, args: req.args ?? [], memPages };
  const made = await g.step('instantiate', inst, budget);
  const base = (ending, instantiate_us, call_us) => {
    const rep = g.reports.finish();
    return {
      ending, progress: rep.progress, guest_panic: rep.guest_panic, refused_growth: rep.refused_growth, host_call: rep.host_call,
      fault_detail: null, reuse: null, deadline: null, instantiate_us: decU(instantiate_us), call_us: decU(call_us),
      call_cpu_us: null, health_us: null, fresh_context_us: null, output: rep.output, stderr: rep.stderr,
    };
  };
  if (made.terminated) {
    const obs = base(interrupted(made, 'instantiation'), made.wall_us, 0);
    obs.deadline = made.terminated;
    return { obs, fresh: null };
  }
  checked(made);
  if (made.refused) throw new AdapterError(`V8 refused the module at instantiation: ${made.refused}`);
  if (!made.ok) {
    const obs = base(made.ending, made.wall_us, 0);
    return { obs, fresh: null };
  }
  const entry = req.export;
  const bad = checked(await g.step('check_entry', { name: entry })).error;
  if (bad) throw new AdapterError(`export \`${entry}\`: ${bad}`);

  if (req.check_reuse) checked(await g.step('snapshot'));
  // A signal to be injected: the guest's first progress in this call says
  // `ready`, and the supervisor sends it to this process (Message::Ready).
  if (req.inject) g.reports.armReady(true);
  let called;
  try {
    called = await g.step('call', { name: entry, arg: req.arg }, budget);
  } finally {
    g.reports.armReady(false);
  }
  let obs;
  if (called.terminated) {
    obs = base(interrupted(called, 'the call'), made.us, called.wall_us);
    obs.deadline = called.terminated;
    obs.call_cpu_us = decU(called.cpu_us);
  } else {
    checked(called);
    obs = base(called.ending, made.us, called.wall_us);
    obs.call_cpu_us = decU(called.cpu_us);
  }
  if (!req.check_reuse) { await g.step('drop'); return { obs, fresh: null }; }

  if (called.terminated) {
    obs.reuse = {
      health: { type: 'failed', message: GONE }, stack_pointer: null, globals_changed: [], memory_changed_bytes: '0',
      memory_changed_runs: [], dead_stack_changed_bytes: '0', dead_stack_changed_runs: [], memory_size: null,
      rounds_healthy: null, rounds_broke: null, rounds_stopped: null,
    };
  } else {
    const facts = checked(await g.step('compare')).facts;
    const h = await healthStep(g, budget);
    facts.health = h.health;
    obs.health_us = decU(h.us);
    const unwound = obs.ending.type !== 'completed';
    if (entry !== START && req.reuse_rounds > 0 && unwound && isOk(facts.health)) {
      [facts.rounds_healthy, facts.rounds_broke, facts.rounds_stopped] = await reuseRounds(g, entry, req.arg, req.reuse_rounds, budget);
    }
    obs.reuse = facts;
    // The faulted instance goes before a fresh one is made.
    await g.step('drop');
  }
  return { obs, fresh: inst };
}

const isOk = (h) => h.type === 'returned' && BigInt(h.value) === HEALTH_OK;

async function healthStep(g, budget) {
  const h = await g.step('health', {}, budget);
  if (h.terminated) return { health: { type: 'failed', message: `trapped: interrupt (fb_health ran out of budget; ${GONE})` }, us: h.wall_us };
  return checked(h);
}

// A round whose scenario call runs into its budget stops the rounds without
// a verdict (faultbox's wasm/run.rs reuse_rounds, the same sentence): its
// guest thread was terminated from outside, which says nothing of what the
// fault did to the instance.
function roundStopped(round, deadline) {
  const budget = deadline === 'cpu' ? 'CPU budget' : 'wall-clock backstop';
  return `round ${round}: the scenario call ran into its ${budget} and was stopped from outside, which says nothing of what the fault did to the instance`;
}

async function reuseRounds(g, entry, arg, rounds, budget) {
  for (let round = 1; round <= rounds; round++) {
    const stderrBefore = g.reports.err.total();
    const called = await g.step('call', { name: entry, arg }, budget);
    if (called.terminated) return [round - 1, null, roundStopped(round, called.terminated)];
    const scenario = describe(checked(called).ending);
    const h = (await healthStep(g, budget)).health;
    let how;
    if (isOk(h)) continue;
    if (h.type === 'returned') how = `fb_health returned 0x${BigInt.asUintN(64, BigInt(h.value)).toString(16)}`;
    else if (h.type === 'failed') how = `fb_health failed: ${h.message}`;
    else return [round - 1, null, null];
    let broke = `round ${round}: ${how} (the scenario call before it: ${scenario})`;
    const total = g.reports.err.total();
    if (total > stderrBefore) {
      const kept = g.reports.err.bytesKept();
      const fresh = Buffer.from(kept.subarray(Math.max(0, kept.length - (total - stderrBefore)))).toString('utf8');
      const line = keyLine(fresh);
      if (line) broke += `; stderr: ${line}`;
    }
    return [round - 1, broke, null];
  }
  return [rounds, null, null];
}

// What a plugin host that discards the instance would pay instead: a fresh
// instance and its health check (on a fresh guest thread when the last one
// was terminated).
export async function freshContext(g, inst, budget) {
  const t0 = process.hrtime.bigint();
  const made = await g.step('instantiate', inst, budget);
  if (made.terminated || made.adapterError || !made.ok) return null;
  const h = await g.step('health', {}, budget);
  const us = Number((process.hrtime.bigint() - t0) / 1000n);
  if (!h.terminated) await g.step('drop');
  return us;
}
