// The guest thread as the main thread sees it: one step at a time over
// postMessage, and for steps that run guest code a CPU budget. Node 20 has
// no per-thread CPU clock in its API, but Linux has one per task:
// /proc/self/task/<tid>/schedstat's first field is the thread's time on
// CPU in ns (the guest thread tells its tid when it starts). The main
// thread sleeps until the budget could at the earliest be spent (CPU time
// cannot pass faster than wall time on one thread), reads the clock, and
// when it is spent stops the guest with worker.terminate(): V8's
// TerminateExecution, which wasm code honours at its stack and loop
// checks. The isolate and every instance and module in it are gone with
// it; the adapter process lives on and the next step starts a new thread.

import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import { REPORTS_BYTES, Reports } from './reports.mjs';

// wall_backstop in host/src/limits.rs: ten times the budget plus 5 s.
// node_worker.cc: Worker::kStackBufferSize.
const STACK_BUFFER_KIB = 192;

export const wallBackstopMs = (ms) => ms * 10 + 5000;

// Guest threads terminated but not yet gone. One blocked in a system
// call (a WASI sleep) outlives terminate() with its isolate and memory;
// an adapter that keeps such threads is not one to give more work.
const abandoned = [];

/// How many terminated guest threads still run `ms` after their end.
export function stuckThreads(ms = 2000) {
  const now = Date.now();
  return abandoned.filter((t) => !t.exited && now - t.since > ms).length;
}

export class GuestThread {
  constructor(stackKib) {
    this.stackKib = stackKib;
    this.reportsSab = new SharedArrayBuffer(REPORTS_BYTES);
    this.reports = new Reports(this.reportsSab);
    this.reports.clear();
    this.worker = new Worker(new URL('./guest.mjs', import.meta.url), {
      workerData: { reports: this.reportsSab },
      // The wasm stack is the thread's stack: V8 runs wasm frames on the
      // native stack of the thread that calls them, against the isolate's
      // stack limit. Node makes the thread stackSizeMb large and sets
      // V8's limit kStackBufferSize (192 KiB) short of its end
      // (src/node_worker.cc), so the limit asked for is that much more.
      resourceLimits: { stackSizeMb: (stackKib + STACK_BUFFER_KIB) / 1024 },
      // The thread's stdout is the adapter's to drop: only the main
      // thread writes protocol lines. Its stderr is the adapter's too.
      stdout: true, stderr: false,
    });
    this.worker.stdout.resume();
    this.nextId = 1;
    this.pending = new Map();
    this.dead = null;
    this.worker.on('message', ({ id, result }) => {
      const p = this.pending.get(id);
      if (p) { this.pending.delete(id); p.resolve(result); }
    });
    const die = (why) => {
      if (!this.dead) this.dead = why;
      for (const p of this.pending.values()) p.resolve({ adapterError: `the guest thread ended: ${why}` });
      this.pending.clear();
    };
    this.worker.on('error', (e) => die(`${e?.name}: ${e?.message}`));
    this.worker.on('exit', (code) => die(`exit code ${code}`));
    this.ready = this.step('hello').then((r) => { this.tid = r.tid; });
  }

  cpuNs() {
    try {
      return Number(fs.readFileSync(`/proc/self/task/${this.tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      return null;
    }
  }

  // One step; with `budgetMs`, stopped when the thread's CPU time in it
  // reaches the budget or the wall backstop passes. A stopped step
  // resolves as { terminated: 'cpu' | 'wall', cpu_us, wall_us }.
  step(op, args, budgetMs = null) {
    if (this.dead) return Promise.resolve({ adapterError: `the guest thread is gone: ${this.dead}` });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t0 = Date.now(), c0 = budgetMs === null ? null : this.cpuNs();
      let timer = null;
      const done = (r) => { if (timer) clearTimeout(timer); resolve(r); };
      this.pending.set(id, { resolve: done });
      this.worker.postMessage({ id, op, args });
      if (budgetMs === null) return;
      const backstop = wallBackstopMs(budgetMs);
      const check = () => {
        timer = null;
        if (!this.pending.has(id)) return;
        const wall = Date.now() - t0;
        const c = this.cpuNs();
        // Without the thread's CPU clock only the wall backstop can end
        // the step: wall time is never passed off as CPU time.
        const used = c === null || c0 === null ? null : (c - c0) / 1e6;
        const deadline = used !== null && used >= budgetMs ? 'cpu' : wall >= backstop ? 'wall' : null;
        if (deadline) {
          this.pending.delete(id);
          this.terminate(`${deadline === 'cpu' ? 'CPU budget' : 'wall-clock backstop'} spent`);
          resolve({ terminated: deadline, cpu_us: Math.round((used ?? 0) * 1000), wall_us: wall * 1000 });
          return;
        }
        timer = setTimeout(check, Math.max(1, Math.min(used === null ? Infinity : budgetMs - used, backstop - wall)));
      };
      timer = setTimeout(check, Math.max(1, budgetMs));
    });
  }

  terminate(why) {
    this.dead = `terminated by the adapter (${why})`;
    this.reports.markTerminated();
    // Not awaited: a thread blocked in a system call (a WASI sleep) ends
    // when it returns to V8; the next step does not wait for it.
    const gone = { since: Date.now(), exited: false };
    abandoned.push(gone);
    this.worker.once('exit', () => { gone.exited = true; });
    this.worker.terminate().catch(() => {});
  }
}
