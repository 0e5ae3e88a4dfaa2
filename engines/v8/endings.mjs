// How a call into the guest ended, as a WasmEnding, from what V8 threw.

import { trapCode } from './traps.mjs';
import { HostOpError, HostPanic } from './fb.mjs';

// `info` (modinfo.mjs) names the module, whose name V8 puts before every
// function name of a trace.
export function endingOf(err, wasi, info = null) {
  const code = wasi?.exitCode(err);
  if (code !== null && code !== undefined) return { type: 'exited', code };
  if (err instanceof HostOpError) return { type: 'host_error', message: err.message };
  if (err instanceof HostPanic) return { type: 'host_panic', message: err.message };
  const trap = trapCode(err);
  if (trap) {
    const message = err instanceof WebAssembly.Exception ? 'uncaught exception: a WebAssembly.Exception reached the host' : err.message;
    return { type: 'trapped', trap, message, frames: framesOf(err, info?.moduleName) };
  }
  if (err instanceof WebAssembly.RuntimeError) return { type: 'failed', message: `unrecognised trap: ${err.message}` };
  return { type: 'failed', message: describeThrown(err) };
}

export function describeThrown(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `threw ${typeof err === 'symbol' ? err.toString() : JSON.stringify(err) ?? String(err)}`;
}

// The wasm frames of V8's stack trace, innermost first: the function's
// name from the name section (Rust symbols demangled without their hash,
// the guest crate's prefix dropped), or func[N].
export function framesOf(err, moduleName = null) {
  const stack = typeof err?.stack === 'string' ? err.stack : '';
  const frames = [];
  for (const line of stack.split('\n')) {
    const m = line.match(/^\s*at (?:(.*?) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:0x[0-9a-f]+\)?$/);
    if (!m) continue;
    let name = m[1];
    if (name && moduleName && name.startsWith(moduleName + '.')) name = name.slice(moduleName.length + 1);
    frames.push(name ? shortName(name) : `func[${m[2]}]`);
  }
  return frames;
}

function shortName(name) {
  const s = demangle(name);
  return s.startsWith('faultbox_guests::') ? s.slice('faultbox_guests::'.length) : s;
}

// Rust's legacy mangling (_ZN<len><ident>...E, a trailing h<16 hex> hash),
// as rustc_demangle's alternate form prints it.
function demangle(sym) {
  // LLVM's local-symbol suffix, which rustc_demangle drops too.
  const m = sym.replace(/\.llvm\.\d+$/, '').match(/^_?_ZN(.*)E$/);
  if (!m) return sym;
  const parts = [];
  let rest = m[1];
  while (rest.length) {
    const n = rest.match(/^(\d+)/);
    if (!n) return sym;
    const len = Number(n[1]);
    parts.push(rest.slice(n[1].length, n[1].length + len));
    rest = rest.slice(n[1].length + len);
  }
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1])) parts.pop();
  const esc = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };
  return parts
    .map((p) => p.replace(/^_\$/, '$').replace(/\$([A-Z]+|u[0-9a-f]+)\$/g, (all, e) => (esc[e] ?? (e[0] === 'u' ? String.fromCodePoint(parseInt(e.slice(1), 16)) : all))).replace(/\.\./g, '::'))
    .join('::');
}
