// V8 has no callback for a memory.grow it refuses (it caps the memory's
// maximum and the instruction returns -1), so the adapter cannot learn of a
// refusal from the engine. To report refused growth as faultbox's other
// engines do, a module is given to V8 with every `memory.grow` replaced by
// a call to one appended function that does the same memory.grow and,
// when it returns -1, records the size it had and the pages asked for in
// appended globals, exported under names no guest uses. Nothing is
// renumbered: the function, type and globals are appended after the
// module's own. A module this cannot rewrite (an opcode the decoder does
// not know, a memory64 or multi-memory grow) runs as it came, and its
// refusals go unseen.

import { uleb } from './wasmgen.mjs';

export const HOOK_PREFIX = 'faultbox:grow_';
export const HOOK_GLOBALS = ['count', 'first_pages', 'first_delta', 'last_pages', 'last_delta'];

class R {
  constructor(b, p = 0) { this.b = b; this.p = p; }
  byte() { if (this.p >= this.b.length) throw new Error('end'); return this.b[this.p++]; }
  u32() { let r = 0, s = 0, b; do { b = this.byte(); r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; }
  skipLeb() { while (this.byte() & 0x80); }
  memarg() { const a = this.u32(); if (a & 0x40) this.u32(); this.skipLeb(); }
  blocktype() { const t = this.b[this.p]; if (t === 0x40 || (t >= 0x6f && t <= 0x7f) || t === 0x63 || t === 0x64) { this.p++; if (t === 0x63 || t === 0x64) this.skipLeb(); } else this.skipLeb(); }
}

// Walks one function body, returning the offsets of its memory.grow
// opcodes (relative to `body`), or throws on an opcode it does not know.
function growSites(body) {
  const r = new R(body);
  for (let n = r.u32(); n > 0; n--) { r.u32(); const t = r.byte(); if (t === 0x63 || t === 0x64) r.skipLeb(); }
  const sites = [];
  while (r.p < body.length) {
    const at = r.p, op = r.byte();
    if (op === 0x40) { if (r.u32() !== 0) throw new Error('multi-memory grow'); sites.push([at, r.p]); continue; }
    if ([0x02, 0x03, 0x04, 0x06].includes(op)) r.blocktype();
    else if ([0x0c, 0x0d, 0x10, 0x12, 0x07, 0x08, 0x09, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3f, 0xd2, 0xd5, 0xd6, 0x14, 0x15].includes(op)) r.u32();
    else if (op === 0x0e) { for (let n = r.u32(); n >= 0; n--) r.u32(); }
    else if (op === 0x11 || op === 0x13) { r.u32(); r.u32(); }
    else if (op === 0x1c) { for (let n = r.u32(); n > 0; n--) { const t = r.byte(); if (t === 0x63 || t === 0x64) r.skipLeb(); } }
    else if (op >= 0x28 && op <= 0x3e) r.memarg();
    else if (op === 0x41 || op === 0x42) r.skipLeb();
    else if (op === 0x43) r.p += 4;
    else if (op === 0x44) r.p += 8;
    else if (op === 0xd0) r.skipLeb();
    else if (op === 0xfc) {
      const sub = r.u32();
      if ([8, 10, 12, 14].includes(sub)) { r.u32(); r.u32(); }
      else if ([9, 11, 13, 15, 16, 17].includes(sub)) r.u32();
      else if (sub > 17) throw new Error(`0xfc ${sub}`);
    } else if (op === 0xfd) {
      const sub = r.u32();
      if (sub <= 11 || sub === 92 || sub === 93) r.memarg();
      else if (sub === 12 || sub === 13) r.p += 16;
      else if (sub >= 21 && sub <= 34) r.p += 1;
      else if (sub >= 84 && sub <= 91) { r.memarg(); r.p += 1; }
    } else if (op === 0xfe) {
      const sub = r.u32();
      if (sub === 3) r.p += 1; else r.memarg();
    } else if (op === 0x1f) throw new Error('try_table');
    else if (op === 0xfb) throw new Error('gc opcode');
    // Every other opcode has no immediates.
  }
  return sites;
}

// The module with its memory.grow sites hooked, or null when it has none
// or cannot be rewritten.
export function hookGrowth(bytes) {
  try {
    return rewrite(bytes);
  } catch (e) {
    if (process.env.FAULTBOX_V8_DEBUG) process.stderr.write(`growth hook: ${e.stack}\n`);
    return null;
  }
}

function rewrite(bytes) {
  const r = new R(bytes, 8);
  const sections = [];
  while (r.p < bytes.length) {
    const hdr = r.p, id = r.byte(), size = r.u32(), start = r.p;
    sections.push({ id, hdr, start, end: start + size });
    r.p = start + size;
  }
  const sec = (id) => sections.find((s) => s.id === id);
  const count = (s) => (s ? new R(bytes, s.start).u32() : 0);
  const code = sec(10);
  if (!code) return null;
  // Imported functions and globals, and whether memory 0 exists.
  let importedFuncs = 0, importedGlobals = 0;
  const imp = sec(2);
  if (imp) {
    const q = new R(bytes, imp.start);
    for (let n = q.u32(); n > 0; n--) {
      for (let k = 0; k < 2; k++) { const len = q.u32(); q.p += len; }
      const kind = q.byte();
      if (kind === 0) { q.u32(); importedFuncs++; }
      else if (kind === 1) { q.byte(); const f = q.u32(); q.u32(); if (f & 1) q.u32(); }
      else if (kind === 2) { const f = q.u32(); if (f & 4) return null; q.u32(); if (f & 1) q.u32(); }
      else if (kind === 3) { q.byte(); q.byte(); importedGlobals++; }
      else if (kind === 4) { q.byte(); q.u32(); }
      else return null;
    }
  }
  const mem = sec(5);
  if (mem) { const q = new R(bytes, mem.start); q.u32(); if (q.byte() & 4) return null; }
  const hookFunc = importedFuncs + count(sec(3));
  const firstGlobal = importedGlobals + count(sec(6));
  const hookType = count(sec(1));

  // The code section, each body with its grow sites replaced: pieces,
  // joined once (a Go module's code section is megabytes).
  const q = new R(bytes, code.start);
  const n = q.u32();
  const bodies = [];
  let hooked = 0;
  const call = Uint8Array.from([0x10, ...uleb(hookFunc)]);
  for (let i = 0; i < n; i++) {
    const size = q.u32(), start = q.p;
    const body = bytes.subarray(start, start + size);
    const sites = growSites(body);
    if (sites.length === 0) bodies.push(Uint8Array.from(uleb(size)), body);
    else {
      const parts = [];
      let from = 0;
      for (const [s, e] of sites) { parts.push(body.subarray(from, s), call); from = e; }
      parts.push(body.subarray(from));
      const joined = Buffer.concat(parts);
      bodies.push(Uint8Array.from(uleb(joined.length)), joined);
      hooked += sites.length;
    }
    q.p = start + size;
  }
  if (hooked === 0) return null;
  const [cnt, fp, fd, lp, ld] = HOOK_GLOBALS.map((_, i) => uleb(firstGlobal + i));
  // (func (param $delta i32) (result i32) (local $r i32)
  //   memory.grow of $delta; on -1: count++, the first and last
  //   (pages before, delta) kept.
  const hook = [
    1, 1, 0x7f,
    0x20, 0, 0x40, 0, 0x21, 1,
    0x20, 1, 0x41, 0x7f, 0x46, 0x04, 0x40,
    0x23, ...cnt, 0x45, 0x04, 0x40,
    0x3f, 0, 0x24, ...fp, 0x20, 0, 0x24, ...fd,
    0x0b,
    0x23, ...cnt, 0x41, 1, 0x6a, 0x24, ...cnt,
    0x3f, 0, 0x24, ...lp, 0x20, 0, 0x24, ...ld,
    0x0b,
    0x20, 1, 0x0b,
  ];
  bodies.push(Uint8Array.from([...uleb(hook.length), ...hook]));

  // A vector section with `extra` items appended.
  const vecOf = (s, extra) => {
    const tail = Uint8Array.from(extra.flat());
    if (!s) return Buffer.concat([Uint8Array.from(uleb(extra.length)), tail]);
    const q2 = new R(bytes, s.start);
    const c = q2.u32();
    return Buffer.concat([Uint8Array.from(uleb(c + extra.length)), bytes.subarray(q2.p, s.end), tail]);
  };
  const newSec = {
    1: vecOf(sec(1), [[0x60, 1, 0x7f, 1, 0x7f]]),
    3: vecOf(sec(3), [uleb(hookType)]),
    6: vecOf(sec(6), HOOK_GLOBALS.map(() => [0x7f, 1, 0x41, 0, 0x0b])),
    7: vecOf(sec(7), HOOK_GLOBALS.map((g, i) => { const name = [...Buffer.from(HOOK_PREFIX + g)]; return [...uleb(name.length), ...name, 0x03, ...uleb(firstGlobal + i)]; })),
    10: Buffer.concat([Uint8Array.from(uleb(n + 1)), ...bodies]),
  };
  // Known sections in their order; custom sections stay where they were.
  const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
  const out = [bytes.subarray(0, 8)];
  const emit = (id, body) => out.push(Uint8Array.from([id, ...uleb(body.length)]), body);
  const done = new Set();
  const emitMissingBefore = (id) => {
    for (const want of [1, 3, 6, 7]) {
      if (done.has(want) || sec(want)) continue;
      if (ORDER.indexOf(want) < ORDER.indexOf(id)) { emit(want, newSec[want]); done.add(want); }
    }
  };
  for (const s of sections) {
    if (s.id !== 0) emitMissingBefore(s.id);
    if (newSec[s.id]) { emit(s.id, newSec[s.id]); done.add(s.id); }
    else out.push(bytes.subarray(s.hdr, s.end));
  }
  return new Uint8Array(Buffer.concat(out));
}
