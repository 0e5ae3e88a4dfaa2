// What the guest reported through fb.* and WASI (GuestReports in
// wasm/backend.rs), kept in one SharedArrayBuffer shared by the guest
// thread, which writes it, and the main thread, which reads it; a guest
// thread stopped by worker.terminate() leaves it behind intact.

import { SharedTail, mergedOutput, dec, decU } from './protocol.mjs';

const PANIC_BYTES = 4096;
export const HOST_OPS = ['echo', 'fail', 'panic', 'stack_overflow', 'bad_pointer'];

// Layout: Int32 control [hostCall, panicLen, hasProgress, then refused
// growth (growth.mjs): count, first pages and delta, last pages and delta,
// the cap in MiB], BigInt64 [progressLast, progressReports], panic
// bytes, three tails.
const CTRL = 0, CTRL_INTS = 12, PROG = 48, PANIC = 64, OUT = PANIC + PANIC_BYTES, STDOUT = OUT + SharedTail.bytes(), ERR = STDOUT + SharedTail.bytes();
export const REPORTS_BYTES = ERR + SharedTail.bytes();

export class Reports {
  constructor(sab) {
    this.sab = sab;
    this.ctrl = new Int32Array(sab, CTRL, CTRL_INTS);
    this.prog = new BigInt64Array(sab, PROG, 2);
    this.panicBytes = new Uint8Array(sab, PANIC, PANIC_BYTES);
    this.out = new SharedTail(sab, OUT);
    this.stdout = new SharedTail(sab, STDOUT);
    this.err = new SharedTail(sab, ERR);
  }
  clear() {
    // ctrl[10] (armReady) is the main thread's: instantiating keeps it.
    const ready = this.ctrl[10];
    this.ctrl.fill(0); this.ctrl[0] = -1; this.ctrl[1] = -1; this.ctrl[10] = ready;
    this.prog.fill(0n); this.out.clear(); this.stdout.clear(); this.err.clear();
  }
  progress(v) { this.prog[0] = v; this.prog[1] += 1n; this.ctrl[2] = 1; }
  panic(bytes) { const b = bytes.subarray(0, PANIC_BYTES); this.panicBytes.set(b); this.ctrl[1] = b.length; }
  // Refused growth as growth.mjs's hook counted it: [count, first pages,
  // first delta, last pages, last delta], store-limit refusals only.
  setRefusals(r, capMib) { this.ctrl.set(r, 3); this.ctrl[8] = capMib; }
  refusals() {
    const [count, fp, fd, lp, ld] = this.ctrl.subarray(3, 8), cap = this.ctrl[8];
    const line = (pages, delta, note) => `growth of a linear memory from ${human(pages)} to ${human(pages + (delta >>> 0))} refused by the store limit (${cap} MiB)${note}: V8's memory.grow returned -1 at the maximum the adapter set (--wasm-max-mem-pages); V8 has no refusal callback, the adapter's memory.grow hook saw it`;
    if (count === 0) return [];
    if (count === 1) return [line(fp, fd, '')];
    return [line(fp, fd, ' (the first)'), line(lp, ld, ` (the last of ${count})`)];
  }
  // Set by the main thread before it terminates the guest thread: a host
  // call the dying thread still reaches announces nothing, so that no
  // line of a dead run lands among the next request's.
  markTerminated() { Atomics.store(this.ctrl, 9, 1); }
  // ctrl[10]: 1 while the main thread waits for the guest's first progress
  // report (an injected signal); the first report takes it to 2, once.
  armReady(on) { Atomics.store(this.ctrl, 10, on ? 1 : 0); }
  takeReady() { return Atomics.compareExchange(this.ctrl, 10, 1, 2) === 1; }
  get terminated() { return Atomics.load(this.ctrl, 9) === 1; }
  set hostCall(op) { this.ctrl[0] = op; }
  get hostCall() { return this.ctrl[0]; }
  // As the observation wants them: fb.write's output, then WASI stdout's.
  finish() {
    const c = this.ctrl;
    return {
      progress: c[2] ? { last: dec(this.prog[0]), reports: decU(this.prog[1]) } : null,
      guest_panic: c[1] >= 0 ? Buffer.from(this.panicBytes.subarray(0, c[1])).toString('utf8') : null,
      refused_growth: this.refusals(),
      host_call: c[0] >= 0 ? HOST_OPS[c[0]] ?? `op ${c[0]}` : null,
      output: mergedOutput(this.out.finish(), this.stdout.finish()),
      stderr: this.err.finish(),
    };
  }
}


// human_bytes in wasmtime_backend/imports.rs, from 64 KiB pages.
function human(pages) {
  const bytes = pages * 65536;
  return bytes >= 1 << 20 ? `${Math.floor(bytes / 1048576)} MiB` : `${Math.floor(bytes / 1024)} KiB`;
}
