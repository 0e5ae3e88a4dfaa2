// The faultbox worker protocol v2 on this side: one JSON object per line.
// Lines go out through fs.writeSync on fd 1 from whichever thread has
// something to say (the guest thread announces host calls itself), so a
// line is on the pipe before the next thing happens: nothing is buffered
// in a stream that a dying thread would lose.

import fs from 'node:fs';

export const PROTOCOL_VERSION = 2;
export const OUTPUT_TAIL_BYTES = 64 * 1024;

export function writeLine(obj) {
  const buf = Buffer.from(JSON.stringify(obj) + '\n', 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      // fd 1 is a pipe the supervisor drains; a full one is waited out.
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

// 64-bit integers travel as decimal strings.
export const dec = (n) => BigInt.asIntN(64, BigInt(n)).toString();
export const decU = (n) => BigInt.asUintN(64, BigInt(n)).toString();
export function parseDec(s, what) {
  if (typeof s !== 'string' || !/^-?[0-9]+$/.test(s)) throw new Error(`${what}: not a decimal string: ${JSON.stringify(s)}`);
  return BigInt(s);
}
export const hex = (n, bits) => '0x' + BigInt.asUintN(bits, BigInt(n)).toString(16);

// A module on the wire, as bytes, and a key to cache what was compiled.
export function moduleBytes(m) {
  if (m.type === 'path') {
    // A file rebuilt at the same path is another module: its size and
    // mtime are part of the key.
    const st = fs.statSync(m.path);
    return { bytes: new Uint8Array(fs.readFileSync(m.path)), key: `path:${m.path}:${st.size}:${st.mtimeMs}` };
  }
  if (m.type === 'bytes') {
    const bytes = Buffer.from(m.base64, 'base64');
    if (bytes.toString('base64') !== m.base64) throw new Error('invalid base64 module');
    return { bytes: new Uint8Array(bytes), key: null };
  }
  throw new Error(`unknown module type ${m.type}`);
}

// The bounded tail of one output stream (TailBuffer in protocol/mod.rs),
// kept in a SharedArrayBuffer so that the main thread can still read it
// after the guest thread that wrote it was terminated.
// Layout: [total: f64][len: u32][start: u32] then OUTPUT_TAIL_BYTES of ring.
export class SharedTail {
  static bytes() { return 16 + OUTPUT_TAIL_BYTES; }
  constructor(sab, offset) {
    this.meta = new Float64Array(sab, offset, 1);
    this.idx = new Uint32Array(sab, offset + 8, 2);
    this.ring = new Uint8Array(sab, offset + 16, OUTPUT_TAIL_BYTES);
  }
  clear() { this.meta[0] = 0; this.idx[0] = 0; this.idx[1] = 0; }
  countSkipped(n) { this.meta[0] += n; }
  push(bytes) {
    this.meta[0] += bytes.length;
    const keep = bytes.length > OUTPUT_TAIL_BYTES ? bytes.subarray(bytes.length - OUTPUT_TAIL_BYTES) : bytes;
    const cap = OUTPUT_TAIL_BYTES;
    let [len, start] = this.idx;
    for (let i = 0; i < keep.length; ) {
      const at = (start + len) % cap;
      const n = Math.min(keep.length - i, cap - at);
      this.ring.set(keep.subarray(i, i + n), at);
      i += n;
      len += n;
      if (len > cap) { start = (start + len - cap) % cap; len = cap; }
    }
    this.idx[0] = len; this.idx[1] = start;
  }
  bytesKept() {
    const [len, start] = this.idx;
    const out = new Uint8Array(len);
    const first = Math.min(len, OUTPUT_TAIL_BYTES - start);
    out.set(this.ring.subarray(start, start + first), 0);
    out.set(this.ring.subarray(0, len - first), first);
    return out;
  }
  total() { return this.meta[0]; }
  finish() {
    const kept = this.bytesKept();
    return { total_bytes: decU(this.meta[0]), kept_bytes: decU(kept.length), tail: Buffer.from(kept).toString('utf8') };
  }
}

// merged_output in wasm/backend.rs: fb.write's output, then WASI stdout's.
export function mergedOutput(fb, stdout) {
  const f = Number(fb.total_bytes), s = Number(stdout.total_bytes);
  if (s === 0) return fb;
  if (f === 0) return stdout;
  const both = new LocalTail();
  both.countSkipped(f - Number(fb.kept_bytes));
  both.push(Buffer.from(fb.tail, 'utf8'));
  both.countSkipped(s - Number(stdout.kept_bytes));
  both.push(Buffer.from(stdout.tail, 'utf8'));
  return both.finish();
}

class LocalTail extends SharedTail {
  constructor() { super(new SharedArrayBuffer(SharedTail.bytes()), 0); }
}
