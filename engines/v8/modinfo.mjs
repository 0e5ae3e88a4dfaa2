// Reads what the adapter needs from a module's binary without running it:
// function types of exports (V8's JS API has no type reflection without
// --experimental-wasm-type-reflection), global types, import module names.
// Only sections 1-7 are read; the engine validates everything else.

const NUM = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

class Reader {
  constructor(bytes) { this.b = bytes; this.p = 0; }
  byte() { if (this.p >= this.b.length) throw new Error('unexpected end'); return this.b[this.p++]; }
  u32() { let r = 0, s = 0, b; do { b = this.byte(); r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; }
  s33() { let r = 0n, s = 0n, b; do { b = this.byte(); r |= BigInt(b & 0x7f) << s; s += 7n; } while (b & 0x80); if (b & 0x40) r -= 1n << s; return r; }
  name() { const n = this.u32(); const s = Buffer.from(this.b.subarray(this.p, this.p + n)).toString('utf8'); this.p += n; return s; }
  valtype() {
    const t = this.byte();
    if (NUM[t]) return NUM[t];
    if (t === 0x63 || t === 0x64) { const h = this.s33(); return `ref${t === 0x63 ? ' null' : ''} ${h}`; }
    return `type 0x${t.toString(16)}`;
  }
  // { min, max } in pages (max null when there is none).
  limits() { const f = this.byte(); const min = this.u32(); const max = f & 1 ? this.u32() : null; return { min, max }; }
}

export function moduleInfo(bytes) {
  const r = new Reader(bytes);
  r.p = 8;
  const types = [], funcs = [], globals = [], exports = [], importModules = [];
  let moduleName = null, memory = null;
  while (r.p < bytes.length) {
    const id = r.byte(), size = r.u32(), end = r.p + size;
    try {
      if (id === 1) {
        for (let n = r.u32(); n > 0; n--) {
          if (r.byte() !== 0x60) { types.push(null); break; } // GC type forms: not needed here
          const params = []; for (let k = r.u32(); k > 0; k--) params.push(r.valtype());
          const results = []; for (let k = r.u32(); k > 0; k--) results.push(r.valtype());
          types.push({ params, results });
        }
      } else if (id === 2) {
        for (let n = r.u32(); n > 0; n--) {
          const mod = r.name(); r.name();
          if (!importModules.includes(mod)) importModules.push(mod);
          const kind = r.byte();
          if (kind === 0) funcs.push(r.u32());
          else if (kind === 1) { r.valtype(); r.limits(); }
          else if (kind === 2) memory ??= r.limits();
          else if (kind === 3) { const t = r.valtype(); globals.push({ type: t, mutable: r.byte() === 1 }); }
          else if (kind === 4) { r.byte(); r.u32(); }
          else break;
        }
      } else if (id === 5) {
        if (r.u32() > 0) memory ??= r.limits();
      } else if (id === 3) {
        for (let n = r.u32(); n > 0; n--) funcs.push(r.u32());
      } else if (id === 6) {
        // Only the types; the init expressions are skipped by scanning to
        // `end` (0x0b) opcode by opcode would need a decoder: globals after
        // the first are read only when every init is a single const.
        for (let n = r.u32(); n > 0; n--) {
          const t = r.valtype();
          globals.push({ type: t, mutable: r.byte() === 1 });
          if (!skipConstExpr(r)) { globals.push(null); break; }
        }
      } else if (id === 0 && r.name() === 'name') {
        // The name section's module name: V8 prefixes function names with
        // it in stack traces ("guests.wasm.<function>").
        if (r.p < end && r.byte() === 0) { r.u32(); moduleName = r.name(); }
      } else if (id === 7) {
        for (let n = r.u32(); n > 0; n--) exports.push({ name: r.name(), kind: r.byte(), index: r.u32() });
      }
    } catch { /* a malformed section: the engine will say so */ }
    r.p = end;
  }
  const funcType = (i) => types[funcs[i]] ?? null;
  return {
    importModules,
    moduleName,
    // Memory 0's limits in pages, if the module has a memory.
    memory,
    exportFunc(name) { const e = exports.find((x) => x.name === name && x.kind === 0); return e ? funcType(e.index) : undefined; },
    exportGlobal(name) { const g = this.exportGlobalType(name); return g ? g.type : g; },
    // { type, mutable }, null when the global section could not be read.
    exportGlobalType(name) { const e = exports.find((x) => x.name === name && x.kind === 3); return e ? globals[e.index] ?? null : undefined; },
  };
}

// Skips one constant expression: the common forms, ending at `end`.
function skipConstExpr(r) {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return true;
    if (op === 0x41 || op === 0x42) r.s33();
    else if (op === 0x43) r.p += 4;
    else if (op === 0x44) r.p += 8;
    else if (op === 0x23 || op === 0xd2) r.u32();
    else if (op === 0xd0) r.s33();
    else if (op === 0x6a || op === 0x6b || op === 0x6c || op === 0x7c || op === 0x7d || op === 0x7e) { /* extended const */ }
    else if (op === 0xfd) { const sub = r.u32(); if (sub !== 12) return false; r.p += 16; }
    else return false;
  }
}
