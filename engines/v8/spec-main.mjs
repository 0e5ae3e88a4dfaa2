// The spec-script steps on the main thread: each is one step on the guest
// thread; instantiation (start functions) and calls run under the
// script's CPU budget. A step that runs out of budget terminates the guest
// thread, and the whole store with it: later steps say so.

export const SPEC_REQUESTS = ['spec_begin', 'spec_compile', 'spec_judge', 'spec_imports', 'spec_instantiate', 'spec_register', 'spec_call', 'spec_global'];

const BUDGETED = new Set(['spec_instantiate', 'spec_call']);
// Spec scripts run with the default wasm stack (limits.rs: 512 KiB).
const SPEC_STACK_KIB = 512;

let budgetMs = 1000;
let thread = null;
let lost = null;

export async function specRequest(req, guestFor) {
  const { type, ...args } = req;
  if (type === 'spec_begin') {
    budgetMs = Number(req.timeout_ms);
    lost = null;
  } else if (lost) {
    return { type: 'spec', result: { type: 'failed', message: lost } };
  }
  const g = await guestFor(SPEC_STACK_KIB);
  if (type !== 'spec_begin' && g !== thread) {
    return { type: 'spec', result: { type: 'failed', message: 'the store is gone: another request replaced its guest thread since spec_begin' } };
  }
  thread = g;
  const r = await g.step(type, args, BUDGETED.has(type) ? budgetMs : null);
  if (r.terminated) {
    lost = `the store is gone: a step ran out of budget and its guest thread was terminated`;
    const what = type === 'spec_call' ? 'the call' : 'the start function';
    return { type: 'spec', result: { type: 'trapped', trap: 'interrupt', message: `${what} ran out of its ${r.terminated === 'cpu' ? 'CPU budget' : 'wall-clock backstop'}; the guest thread was terminated (worker.terminate()), and every module and instance of the script with it` } };
  }
  if (r.adapterError) return { type: 'failed', message: r.adapterError };
  return { type: 'spec', result: r };
}
